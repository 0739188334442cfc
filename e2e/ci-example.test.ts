import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ROOT, berth, startBerth, tempDir, type ServerHandle } from './support.js';

const SCRIPT = join(ROOT, 'examples/ci/promote.sh');
const RECEIVER = join(ROOT, 'examples/ci/deploy-receiver.mjs');
const POLICY = join(ROOT, 'examples/ci/chatbot-promotion.yaml');

/** An evaluation command as a CI job would give it: writes a JSON object of metrics to {output}. */
function evalCommand(metrics: Record<string, number>): string {
  return `node -e "require('fs').writeFileSync(process.argv[1], process.argv[2])" {output} '${JSON.stringify(metrics)}'`;
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * examples/ci as a pipeline runs it: promote.sh (pull and evaluate, gates, promote) against the
 * real server and CLI, deploy-receiver.mjs as the deploy job receiving signed webhooks.
 */
describe('the CI/CD example against a real server', () => {
  let server: ServerHandle;
  let dir: string;
  let cleanup: () => Promise<void>;
  let receiver: ChildProcess | undefined;
  let receiverLog = '';
  let serving: Server;
  let servingUrl = '';
  let secret = '';
  const run = (...args: string[]) => berth(args, { url: server.url, cwd: dir });

  async function pipeline(candidate: number, metrics: Record<string, number>) {
    const proc = spawn('sh', [SCRIPT], {
      cwd: dir,
      env: {
        ...process.env,
        BERTH_URL: server.url,
        BERTH: `${process.execPath} ${BIN}`,
        MODEL: 'chatbot',
        CANDIDATE: String(candidate),
        POLICY: 'chatbot-promotion',
        EVAL_COMMAND: evalCommand(metrics),
        EVAL_DATASET: `golden-set@sha256:${'a'.repeat(64)}`,
        LATENCY_URL: servingUrl,
        LATENCY_REQUESTS: '50',
        LATENCY_CONCURRENCY: '4',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const [code] = await once(proc, 'exit');
    return { code: code as number, stdout, stderr };
  }

  async function champion(): Promise<number | undefined> {
    const r = await run('alias', 'ls', 'chatbot', '--json');
    const items = JSON.parse(r.stdout) as { alias: string; version: number }[];
    return items.find((a) => a.alias === 'champion')?.version;
  }

  async function deployed(): Promise<string[]> {
    const text = await readFile(join(dir, 'deployed.txt'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean);
  }

  before(async () => {
    ({ dir, cleanup } = await tempDir('berth-ci-'));
    server = await startBerth(join(dir, 'data'), [], { BERTH_WEBHOOK_ALLOW_PRIVATE: '1' });
    // The candidate's serving endpoint, probed for latency by the pipeline.
    serving = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end('{"ok":true}'), 2);
    });
    serving.listen(0, '127.0.0.1');
    await once(serving, 'listening');
    servingUrl = `http://127.0.0.1:${(serving.address() as { port: number }).port}/v1/chat/completions`;
    for (const v of [1, 2, 3]) {
      await mkdir(join(dir, `ckpt${v}`), { recursive: true });
      await writeFile(join(dir, `ckpt${v}`, 'weights.bin'), `weights of checkpoint ${v}`);
      const r = await run('push', `./ckpt${v}`, '--model', 'chatbot');
      assert.equal(r.code, 0, r.stderr);
    }
    const applied = await run('policy', 'apply', POLICY, '--json');
    assert.equal(applied.code, 0, applied.stderr);

    // The deploy job: a webhook consumer that checks signatures and runs the deploy command.
    const port = await freePort();
    const added = await run('webhook', 'add', `http://127.0.0.1:${port}/hook`, '--events', 'alias.moved', '--json');
    assert.equal(added.code, 0, added.stderr);
    secret = (JSON.parse(added.stdout) as { secret: string }).secret;
    receiver = spawn(process.execPath, [RECEIVER], {
      cwd: dir,
      env: { ...process.env, WEBHOOK_SECRET: secret, PORT: String(port), ALIAS: 'champion', DEPLOY_COMMAND: 'echo "$MODEL $VERSION" >> deployed.txt' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    receiver.stdout!.on('data', (d) => (receiverLog += d));
    receiver.stderr!.on('data', (d) => (receiverLog += d));
    await waitFor('the receiver to listen', async () => (receiverLog.includes('listening') ? true : undefined));

    // The first champion: no holder to compare with yet.
    const first = await pipeline(1, { accuracy: 0.918, safety_score: 0.97 });
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.equal(await champion(), 1);
  });

  after(async () => {
    receiver?.kill();
    serving?.close();
    await server?.stop();
    await cleanup?.();
  });

  it('fails a candidate that misses a gate: exit non-zero at the gates, the alias stays', async () => {
    const r = await pipeline(2, { accuracy: 0.85, safety_score: 0.99 });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /\[gate-1\] accuracy 0\.85 >= 0\.9\d* FAIL/);
    assert.match(r.stdout, /\[gate-3\] p99 latency \d+(\.\d+)?ms <= 500ms PASS/, 'the latency probe recorded p99 for the gate');
    assert.doesNotMatch(r.stdout, /== stage 3/, 'the pipeline stops at the gates');
    assert.equal(await champion(), 1);
  });

  it('promotes a passing candidate and the deploy job gets a correctly signed alias.moved', async () => {
    const r = await pipeline(3, { accuracy: 0.931, safety_score: 0.98 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\[gate-4\] candidate 0\.931 vs champion 0\.918 \(delta \+0\.013\) PASS/);
    assert.equal(await champion(), 3);
    // The receiver refuses anything whose signature does not verify, so a deploy line is a verified call.
    const lines = await waitFor('the deploy of chatbot 3', async () => {
      const d = await deployed();
      return d.includes('chatbot 3') ? d : undefined;
    });
    assert.deepEqual(lines, ['chatbot 1', 'chatbot 3']);
    const forged = await fetch(`http://127.0.0.1:${new URL(receiverLog.match(/http:\/\/\S+/)![0]).port}/hook`, {
      method: 'POST',
      headers: { 'webhook-id': 'evt_999999', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
      body: '{}',
    });
    assert.equal(forged.status, 401, 'an unsigned call is refused by the receiver');
  });

  it('rolls back with one command, and the deploy job follows', async () => {
    const r = await run('rollback', 'chatbot', 'champion', '--reason', 'quality regression');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await champion(), 1);
    await waitFor('the redeploy of chatbot 1', async () => ((await deployed()).at(-1) === 'chatbot 1' ? true : undefined));
  });
});
