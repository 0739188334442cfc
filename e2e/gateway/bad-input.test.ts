import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';
import {
  applyDeployment,
  chat,
  feedback,
  feedbackCli,
  metricSum,
  metrics,
  pushVersions,
  sseEvents,
  startGateway,
  startRegistry,
  tryApply,
  waitUntil,
  type GatewayProcess,
  type Registry,
} from './support.js';

/**
 * The status of a POST whose body the server refuses before it has all been read: over a raw
 * socket, since an HTTP client that hits EPIPE on the rest of the body drops the answer it got.
 */
function postStatus(url: string, body: Buffer): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(Number(u.port), u.hostname, () => {
      socket.write(`POST ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        resolve(Number(m[1]));
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => reject(new Error(`the connection closed with no status line: ${JSON.stringify(got.slice(0, 200))}`)));
  });
}

interface OpenAIError {
  error: { message: string; type: string; param?: string | null; code: string };
}

/**
 * The bad input, end to end: deployments the registry refuses (each a clear 4xx that
 * stores nothing), upstreams that hang, babble or hang up (each a clear answer to the client
 * and an error in /metrics, never a hung client), feedback for a request nobody served, and a
 * model the gateway does not serve.
 */
describe('bad input to deployments and the gateway', () => {
  let reg: Registry;
  let gw: GatewayProcess;
  let up: FakeOpenAI;

  before(async () => {
    reg = await startRegistry('berth-e2e-bad-input-');
    up = await startFakeOpenAI('flaky');
    await pushVersions(reg.client, 'bad-m', 2);
    await reg.client.setAlias('bad-m', 'champion', 1);
    await reg.client.setAlias('bad-m', 'challenger', 2);
    await applyDeployment(
      reg,
      `deployment: flaky-bot
model: bad-m
strategy: single
stable: champion
upstreams:
  - {versions: "*", url: ${up.url}, timeout: 500ms}
analysis_interval: 200ms
`,
    );
    gw = await startGateway(reg.url);
    await waitUntil('flaky-bot routed', async () => (await chat(gw.url, 'flaky-bot')).status === 200);
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await reg?.stop();
  });

  const deploymentYaml = (name: string, extra: string, upstreamVersions = '"*"') => `deployment: ${name}
model: bad-m
${extra}
upstreams:
  - {versions: ${upstreamVersions}, url: ${up.url}}
`;
  const notStored = async (name: string) => {
    const ls = JSON.parse(await reg.ok(['deploy', 'ls', '--json'])) as { name: string }[];
    assert.deepEqual(
      ls.map((d) => d.name).filter((n) => n === name),
      [],
      `${name} was not stored`,
    );
  };
  const errors = async (deployment: string) => metricSum(await metrics(gw.url), 'berth_gateway_requests_total', { deployment, outcome: 'error' });

  it('refuses a deployment whose upstream names a version that does not exist (404, exit 3)', async () => {
    const r = await tryApply(reg, deploymentYaml('missing-bot', 'strategy: single\nstable: champion', '[1, 2, 99]'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /bad-m:99 does not exist/);
    await notStored('missing-bot');
  });

  it('refuses a deployment whose alias holds an unpinned (external) version (412, exit 1)', async () => {
    const external = await reg.client.createVersion('bad-m', { files: [], external_uri: 's3://bucket/models/bad-m' });
    await reg.client.setAlias('bad-m', 'outside', external.version);
    const r = await tryApply(reg, deploymentYaml('external-bot', 'strategy: single\nstable: outside'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`bad-m:${external.version} is an external version`));
    assert.match(r.stderr, /berth push/);
    await notStored('external-bot');
  });

  it('refuses A/B weights that do not sum to 100, naming the line (400, exit 2)', async () => {
    const r = await tryApply(
      reg,
      deploymentYaml('weights-bot', 'strategy: ab\nstable: champion\nab: {weights: {champion: 50, challenger: 40}, key: header:x-user-id}'),
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /deployment line 5: ab\.weights sum to 90, not 100/);
    await notStored('weights-bot');
  });

  it('an upstream that hangs: 504 within its timeout, the upstream request abandoned, an error in /metrics', async () => {
    const before = await errors('flaky-bot');
    up.set({ hang: true });
    try {
      const r = await chat(gw.url, 'flaky-bot');
      assert.equal(r.status, 504, r.text);
      assert.ok(r.ms >= 450 && r.ms < 2000, `answered after ${r.ms.toFixed(0)} ms (timeout 500 ms)`);
      const body = r.json as OpenAIError;
      assert.equal(body.error.code, 'upstream_timeout');
      assert.equal(r.version, 'bad-m:1');
      await waitUntil('the hung upstream request is abandoned', () => up.abandoned >= 1, 2000);
      const streamed = await chat(gw.url, 'flaky-bot', { stream: true });
      assert.equal(streamed.status, 504);
      assert.ok(streamed.ms < 2000);
    } finally {
      up.set({ hang: false });
    }
    await waitUntil('two errors counted', async () => (await errors('flaky-bot')) - before === 2, 2000);
  });

  it('an upstream that answers garbage: 502 upstream_bad_response, counted as an error', async () => {
    const before = await errors('flaky-bot');
    up.set({ garbage: true });
    try {
      const r = await chat(gw.url, 'flaky-bot');
      assert.equal(r.status, 502, r.text);
      assert.equal((r.json as OpenAIError).error.code, 'upstream_bad_response');
    } finally {
      up.set({ garbage: false });
    }
    assert.equal((await errors('flaky-bot')) - before, 1);
  });

  it('an upstream that closes mid-stream: the client gets the chunks so far, an error event, and the end; counted as an error', async () => {
    const before = await errors('flaky-bot');
    up.set({ cutStreamAfter: 2, chunks: 4, answer: 'aaaabbbbccccdddd' });
    try {
      const r = await chat(gw.url, 'flaky-bot', { stream: true });
      assert.equal(r.status, 200);
      const events = sseEvents(r.text);
      const contents = events.flatMap((e) => (e as { choices?: { delta?: { content?: string } }[] }).choices?.map((c) => c.delta?.content ?? '') ?? []);
      assert.equal(contents.join(''), 'aaaabbbb', 'the two chunks sent before the cut');
      const last = events.at(-1) as OpenAIError;
      assert.equal(last.error.code, 'upstream_stream_cut', r.text);
      assert.ok(!events.includes('[DONE]'), 'a cut stream does not claim to be complete');
    } finally {
      up.set({ cutStreamAfter: 0, answer: 'answer from flaky' });
    }
    assert.equal((await errors('flaky-bot')) - before, 1);
  });

  it('an upstream answering 500 is passed through with its status and counted; one that refuses connections is a 502', async () => {
    const before = await errors('flaky-bot');
    up.set({ errorEvery: 1 });
    try {
      const r = await chat(gw.url, 'flaky-bot');
      assert.equal(r.status, 500, r.text);
    } finally {
      up.set({ errorEvery: 0 });
    }
    assert.equal((await errors('flaky-bot')) - before, 1);

    const gone = await startFakeOpenAI('gone');
    const goneUrl = gone.url;
    await gone.close();
    await reg.client.setAlias('bad-m', 'gone', 2);
    await applyDeployment(
      reg,
      `deployment: gone-bot
model: bad-m
strategy: single
stable: gone
upstreams:
  - {versions: "*", url: ${goneUrl}}
`,
    );
    const r = await waitUntil('gone-bot routed', async () => {
      const a = await chat(gw.url, 'gone-bot');
      return a.status !== 404 && a;
    });
    assert.equal(r.status, 502, r.text);
    assert.equal((r.json as OpenAIError).error.code, 'upstream_unavailable');
    assert.equal(await errors('gone-bot'), 1);
  });

  it('feedback for a request id the gateway never served: 404 request_not_found; `berth feedback` exits 3; a score outside 0..1 is a 400', async () => {
    const r = await feedback(gw.url, 'req_000000000000000000000000', 0.5);
    assert.equal(r.status, 404);
    const body = r.json as OpenAIError;
    assert.deepEqual([body.error.type, body.error.code], ['invalid_request_error', 'request_not_found']);
    const cli = await feedbackCli(reg, gw, 'req_000000000000000000000000', 0.5);
    assert.equal(cli.code, 3, cli.stderr);
    assert.match(cli.stderr, /req_000000000000000000000000/);

    const served = await chat(gw.url, 'flaky-bot');
    const bad = await feedback(gw.url, served.requestId!, 1.5);
    assert.equal(bad.status, 400);
    assert.match((bad.json as OpenAIError).error.message, /score/);
    const ok = await feedback(gw.url, served.requestId!, 1);
    assert.equal(ok.status, 200);
    const said = ok.json as { ok: boolean; request_id: string; deployment: string; version: number | string };
    assert.deepEqual([said.ok, said.request_id, said.deployment], [true, served.requestId, 'flaky-bot']);
    assert.match(String(said.version), /^(bad-m:)?1$/);
  });

  it('a model the gateway does not serve: an OpenAI-shaped 404 naming it', async () => {
    for (const model of ['nobody-bot', 'bad-m@nowhere', 'bad-m:99', 'other-model']) {
      const r = await chat(gw.url, model);
      assert.equal(r.status, 404, `${model}: ${r.text}`);
      const body = r.json as OpenAIError;
      assert.deepEqual([body.error.type, body.error.param, body.error.code], ['invalid_request_error', 'model', 'model_not_found'], model);
      assert.match(
        body.error.message,
        new RegExp(`The model '${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' does not exist or is not served by this gateway`),
      );
    }
  });

  it('a body that is not JSON is a 400; one over 10 MiB a 413', async () => {
    const notJson = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as OpenAIError).error.type, 'invalid_request_error');
    assert.equal(await postStatus(`${gw.url}/v1/chat/completions`, Buffer.alloc(11 * 1024 * 1024, 'x')), 413);
  });
});
