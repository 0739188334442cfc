import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeRegistry, type FakeRegistry } from '@berth/gateway/test-support/fake-registry';
import { startFakeUpstream, type FakeUpstream } from '@berth/gateway/test-support/fake-upstream';
import type { Io } from '../io.js';
import { main } from '../main.js';

let registry: FakeRegistry | undefined;
let up: FakeUpstream | undefined;
after(async () => {
  await up?.close();
  await registry?.close();
});

function cli(argv: string[], signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (c: string) => out.push(c) },
    stderr: { write: (c: string) => err.push(c) },
    env: {},
    cwd: process.cwd(),
    ...(signal ? { signal } : {}),
  };
  return { out, err, code: main(['gateway', ...argv], io) };
}

async function firstLine(out: string[]): Promise<string> {
  for (let i = 0; i < 250 && out.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  return out[0] ?? '';
}

describe('berth gateway', () => {
  it('serves the registry deployments and stops cleanly after answering the request in flight when told to stop', async () => {
    registry = await startFakeRegistry();
    up = await startFakeUpstream('v1', { latencyMs: 300 });
    registry.addVersion('cs-bot', 1, { 'w.bin': 'one' });
    registry.setAlias('cs-bot', 'champion', 1);
    registry.apply({
      deployment: 'chatbot',
      model: 'cs-bot',
      upstreams: [{ versions: '*', url: up.url, adapter: null, protocol: 'openai', health: null, timeout_ms: 5000 }],
    });
    const stop = new AbortController();
    const run = cli(['--url', registry.url, '--port', '0', '--no-analysis', '--gateway-id', 'gw-1', '--report-interval', '500ms', '--json'], stop.signal);
    const started = JSON.parse(await firstLine(run.out)) as { url: string; gateway_id: string; deployments: string[]; analysis: boolean };
    assert.deepEqual([started.gateway_id, started.deployments, started.analysis], ['gw-1', ['chatbot'], false]);
    const pending = fetch(`${started.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chatbot', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-berth-version'), 'cs-bot:1');
    assert.equal(await run.code, 0);
    await assert.rejects(fetch(`${started.url}/healthz`));
  });

  it('runs the control plane and shows its status when analysis is on', async () => {
    assert.ok(registry, 'the first test started the registry');
    const stop = new AbortController();
    const run = cli(['--url', registry.url, '--port', '0', '--report-interval', '10s', '--json'], stop.signal);
    const started = JSON.parse(await firstLine(run.out)) as { url: string; analysis: boolean };
    assert.equal(started.analysis, true);
    const status = (await (await fetch(`${started.url}/status`)).json()) as { control: unknown };
    assert.equal(typeof status.control, 'object');
    assert.notEqual(status.control, null);
    stop.abort();
    assert.equal(await run.code, 0);
  });

  it('exits 2 with the usage when a flag is wrong', async () => {
    for (const argv of [['--report-interval', 'soon'], ['--port', '70000'], ['--deployments', 'a,,b'], ['extra']]) {
      const run = cli(argv);
      assert.equal(await run.code, 2, argv.join(' '));
      assert.match(run.err.join(''), /usage: berth gateway/);
    }
  });

  it('exits non-zero naming the registry when it cannot be reached', async () => {
    const run = cli(['--url', 'http://127.0.0.1:9', '--port', '0', '--no-analysis']);
    assert.notEqual(await run.code, 0);
    assert.match(run.err.join(''), /cannot reach Berth at http:\/\/127\.0\.0\.1:9/);
  });
});
