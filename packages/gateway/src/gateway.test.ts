import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestMemory } from './request-memory.js';
import { startFakeJudge } from '../test-support/fake-upstream.js';
import { call, chat, startWorld, waitFor, type World } from '../test-support/world.js';

const worlds: World[] = [];
async function world(...args: Parameters<typeof startWorld>): Promise<World> {
  const w = await startWorld(...args);
  worlds.push(w);
  return w;
}
after(() => Promise.all(worlds.map((w) => w.close())));

describe('gateway feedback', () => {
  it('records a score for the version that served the request when the id is known', async () => {
    const w = await world();
    const served = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    const id = served.headers.get('x-request-id');
    const a = await call(w.gw, '/v1/feedback', { request_id: id, score: 0.2, comment: 'off topic' });
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, { ok: true, request_id: id, deployment: 'chatbot', version: 1 });
    assert.deepEqual(w.rec.feedback, [{ deployment: 'chatbot', version: 1, score: 0.2 }]);
    const m = await (await fetch(`${w.gw.url}/metrics`)).text();
    assert.match(m, /berth_gateway_quality_score_count\{deployment="chatbot",version="1",source="feedback"\} 1/);
  });

  it('answers an OpenAI-shaped 404 when the request id is unknown', async () => {
    const w = await world();
    const a = await call(w.gw, '/v1/feedback', { request_id: 'req_000000000000000000000000', score: 1 });
    assert.equal(a.status, 404);
    assert.equal(a.json.error.code, 'request_not_found');
    assert.equal(a.json.error.param, 'request_id');
    assert.deepEqual(w.rec.feedback, []);
  });

  it('answers 400 naming the field when the score, id or comment is wrong', async () => {
    const w = await world();
    const id = (await call(w.gw, '/v1/chat/completions', chat('chatbot'))).headers.get('x-request-id');
    for (const [body, param] of [
      [{ request_id: id, score: 1.5 }, 'score'],
      [{ request_id: id, score: -0.1 }, 'score'],
      [{ request_id: id, score: '0.5' }, 'score'],
      [{ request_id: id }, 'score'],
      [{ score: 0.5 }, 'request_id'],
      [{ request_id: id, score: 0.5, comment: 3 }, 'comment'],
    ] as const) {
      const a = await call(w.gw, '/v1/feedback', body);
      assert.equal(a.status, 400, JSON.stringify(body));
      assert.equal(a.json.error.param, param);
    }
    assert.equal((await call(w.gw, '/v1/feedback', 'nope')).status, 400);
    assert.deepEqual(w.rec.feedback, []);
  });

  it('forgets ids after the hour and beyond the newest max', () => {
    const m = new RequestMemory(2, 1000);
    m.remember('a', { deployment: 'd', version: 1, at: 0 });
    m.remember('b', { deployment: 'd', version: 1, at: 0 });
    assert.equal(m.find('a', 500)?.version, 1);
    m.remember('c', { deployment: 'd', version: 2, at: 600 });
    assert.equal(m.find('a', 600), undefined, 'the oldest went when a third came');
    assert.equal(m.find('b', 1001), undefined, 'expired');
    assert.equal(m.find('c', 1001)?.version, 2);
  });
});

describe('gateway endpoints', () => {
  it('exposes per-version Prometheus metrics when requests were served', async () => {
    const w = await world({ strategy: 'canary', candidate: 'challenger' }, [{ usage: { prompt_tokens: 11, completion_tokens: 4 } }]);
    w.registry.setRollout('chatbot', { kind: 'canary', stable_version: 1, candidate_version: 2, weight: 0 });
    await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    await call(w.gw, '/v1/chat/completions', chat('chatbot', { stream: true }));
    const res = await fetch(`${w.gw.url}/metrics`);
    assert.match(res.headers.get('content-type') as string, /^text\/plain/);
    const m = await res.text();
    assert.match(m, /berth_gateway_requests_total\{deployment="chatbot",version="1",outcome="ok"\} 2/);
    assert.match(m, /berth_gateway_request_duration_seconds_bucket\{le="0\.001",deployment="chatbot",version="1"\}/);
    assert.match(m, /berth_gateway_time_to_first_byte_seconds_count\{deployment="chatbot",version="1"\} 2/);
    assert.match(m, /berth_gateway_tokens_total\{deployment="chatbot",version="1",direction="in"\} 22/);
    assert.match(m, /berth_gateway_tokens_total\{deployment="chatbot",version="1",direction="out"\} 8/);
    assert.match(m, /berth_gateway_weight\{deployment="chatbot",version="1"\} 100/);
    assert.match(m, /berth_gateway_registry_connected 1/);
    w.rec.opts?.data.recordJudgeScore('chatbot', 2, 0.4);
    assert.match(await (await fetch(`${w.gw.url}/metrics`)).text(), /berth_gateway_quality_score_count\{deployment="chatbot",version="2",source="judge"\} 1/);
  });

  it('serves healthz, status and a 404 for unknown paths', async () => {
    const w = await world();
    const h = await fetch(`${w.gw.url}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { ok: true, deployments: 1, registry_connected: true });
    const s = (await (await fetch(`${w.gw.url}/status`)).json()) as Record<string, unknown>;
    assert.equal(s.gateway_id, 'gw-test');
    assert.deepEqual(s.control, { recorded: 0 });
    const d = (s.deployments as Array<Record<string, unknown>>)[0];
    assert.deepEqual([d?.name, d?.strategy, d?.weights, d?.shadow, d?.refused], ['chatbot', 'single', { 1: 100 }, null, {}]);
    const nf = await fetch(`${w.gw.url}/v2/other`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  it('probes the upstream of a version for the control plane', async () => {
    const w = await world({}, [{ healthy: true }, { healthy: false }]);
    const data = w.rec.opts?.data;
    assert.ok(data);
    assert.equal(w.rec.opts?.gatewayId, 'gw-test');
    const ok = await data.probe('chatbot', 1);
    assert.deepEqual([ok.ok, ok.status, ok.error], [true, 200, null]);
    w.registry.setAlias('cs-bot', 'champion', 2);
    await waitFor('the move', () => w.gw.view.get('chatbot')?.versions.has(2) === true);
    const bad = await data.probe('chatbot', 2);
    assert.deepEqual([bad.ok, bad.status], [false, 503]);
    const none = await data.probe('chatbot', 9);
    assert.equal(none.ok, false);
  });

  it('finishes a request in flight before close resolves', async () => {
    const w = await startWorld({}, [{ latencyMs: 300 }]);
    const pending = call(w.gw, '/v1/chat/completions', chat('chatbot'));
    await new Promise((r) => setTimeout(r, 100));
    await w.gw.close();
    const a = await pending;
    assert.equal(a.status, 200);
    await assert.rejects(fetch(`${w.gw.url}/healthz`));
    await w.close();
  });
});

describe('fake judge', () => {
  it('answers the score of the output it was shown as OpenAI JSON', async () => {
    const judge = await startFakeJudge((output) => (output.includes('good') ? 0.9 : 0.1));
    try {
      const res = await fetch(`${judge.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'judge', messages: [{ role: 'user', content: 'Input: hi\nOutput: a good answer' }] }),
      });
      const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      assert.deepEqual(JSON.parse(body.choices[0]?.message.content ?? ''), { score: 0.9 });
      assert.deepEqual(judge.scored, ['a good answer']);
    } finally {
      await judge.close();
    }
  });
});
