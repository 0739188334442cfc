import { request as httpRequest } from 'node:http';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call, chat, startWorld, upstream, waitFor, type World } from '../test-support/world.js';

const worlds: World[] = [];
async function world(...args: Parameters<typeof startWorld>): Promise<World> {
  const w = await startWorld(...args);
  worlds.push(w);
  return w;
}
after(() => Promise.all(worlds.map((w) => w.close())));

async function versionsOf(w: World, n: number, body: (i: number) => Record<string, unknown>, headers?: (i: number) => Record<string, string>) {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = await call(w.gw, '/v1/chat/completions', body(i), headers?.(i));
    assert.equal(a.status, 200, a.text);
    seen.push(a.headers.get('x-berth-version') as string);
  }
  return seen;
}

describe('gateway routing', () => {
  it('sends a single deployment to the stable holder with the berth headers when called by deployment name', async () => {
    const w = await world();
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(a.status, 200);
    assert.equal(a.json.choices[0].message.content, 'answer from v1');
    assert.equal(a.headers.get('x-berth-version'), 'cs-bot:1');
    assert.equal(a.headers.get('x-berth-deployment'), 'chatbot');
    assert.match(a.headers.get('x-request-id') as string, /^req_[0-9a-f]{24}$/);
    assert.equal(w.ups[0]?.requests[0]?.body.model, 'cs-bot', 'without an adapter template the registry model name goes upstream');
    assert.equal(w.ups[1]?.count, 0);
    assert.equal(w.rec.requests.length, 1);
    assert.deepEqual(
      { ...w.rec.requests[0], at: 0, latencyMs: 0 },
      {
        requestId: a.headers.get('x-request-id'),
        deployment: 'chatbot',
        version: 1,
        at: 0,
        latencyMs: 0,
        error: false,
        tokensIn: 10,
        tokensOut: 5,
        input: [{ role: 'user', content: 'hi' }],
        output: 'answer from v1',
      },
    );
  });

  it('routes each model form when the field names the deployment, an alias or a version', async () => {
    const w = await world({ strategy: 'canary', candidate: 'challenger', steps: [{ weight: 50, pause_ms: 0 }] });
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('cs-bot@champion'))).headers.get('x-berth-version'), 'cs-bot:1');
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('cs-bot@challenger'))).headers.get('x-berth-version'), 'cs-bot:2');
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('cs-bot:2'))).headers.get('x-berth-version'), 'cs-bot:2');
    const completion = await call(w.gw, '/v1/completions', { model: 'cs-bot:1', prompt: 'hi' });
    assert.equal(completion.json.choices[0].text, 'answer from v1');
    assert.equal(w.ups[0]?.requests.at(-1)?.path, '/v1/completions');
  });

  it('answers an OpenAI-shaped 404 when the model is not served', async () => {
    const w = await world();
    for (const model of ['nope', 'cs-bot:99', 'cs-bot@nobody', 'other@champion']) {
      const a = await call(w.gw, '/v1/chat/completions', chat(model));
      assert.equal(a.status, 404, model);
      assert.equal(a.json.error.code, 'model_not_found');
      assert.equal(a.json.error.type, 'invalid_request_error');
      assert.equal(a.json.error.param, 'model');
      assert.match(a.json.error.message, new RegExp(`^The model '${model}' does not exist or is not served by this gateway: it serves 'chatbot'`));
    }
  });

  it('refuses bodies that are too large, not JSON, or without a model with a 4xx', async () => {
    const w = await world();
    const big = await call(w.gw, '/v1/chat/completions', JSON.stringify(chat('chatbot', { pad: 'x'.repeat(10 * 1024 * 1024) })));
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'request_too_large');
    const notJson = await call(w.gw, '/v1/chat/completions', '{"model": ');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.code, 'invalid_json');
    const list = await call(w.gw, '/v1/chat/completions', '[1]');
    assert.equal(list.status, 400);
    const noModel = await call(w.gw, '/v1/chat/completions', { messages: [] });
    assert.equal(noModel.status, 400);
    assert.equal(noModel.json.error.param, 'model');
    assert.equal(w.ups[0]?.count, 0);
  });

  it('splits a live canary by its weight and returns to the stable holder when it ends', async () => {
    const w = await world({ strategy: 'canary', candidate: 'challenger', steps: [{ weight: 30, pause_ms: 0 }] });
    w.registry.setRollout('chatbot', { kind: 'canary', stable_version: 1, candidate_version: 2, weight: 30 });
    await waitFor('the rollout', () => w.gw.view.get('chatbot')?.weights.get(2) === 30);
    const seen = await versionsOf(w, 200, () => chat('chatbot'));
    const share = seen.filter((v) => v === 'cs-bot:2').length / seen.length;
    assert.ok(share > 0.18 && share < 0.42, `candidate share ${share}`);
    w.registry.setRollout('chatbot', { kind: 'canary', stable_version: 1, candidate_version: 2, weight: 30, state: 'aborted' });
    await waitFor('the abort', () => w.gw.view.get('chatbot')?.weights.get(2) === undefined);
    assert.deepEqual(new Set(await versionsOf(w, 20, () => chat('chatbot'))), new Set(['cs-bot:1']));
  });

  it('keeps each user on one variant when the ab key is a header', async () => {
    const w = await world({ strategy: 'ab', candidate: 'challenger', ab: { weights: { champion: 50, challenger: 50 }, key: 'header:x-user-id' } });
    const byUser = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round++) {
      const seen = await versionsOf(
        w,
        20,
        () => chat('chatbot'),
        (i) => ({ 'x-user-id': `user-${i}` }),
      );
      for (const [i, v] of seen.entries()) byUser.set(`user-${i}`, (byUser.get(`user-${i}`) ?? new Set()).add(v));
    }
    for (const [user, vs] of byUser) assert.equal(vs.size, 1, `${user} saw ${[...vs]}`);
    const variants = new Set([...byUser.values()].flatMap((s) => [...s]));
    assert.deepEqual(variants, new Set(['cs-bot:1', 'cs-bot:2']), 'twenty users land on both variants');
  });

  it('keeps each user on one variant when the ab key is a body field', async () => {
    const w = await world({ strategy: 'ab', candidate: 'challenger', ab: { weights: { champion: 50, challenger: 50 }, key: 'body:user' } });
    const first = await versionsOf(w, 20, (i) => chat('chatbot', { user: `u${i}` }));
    const again = await versionsOf(w, 20, (i) => chat('chatbot', { user: `u${i}` }));
    assert.deepEqual(again, first);
    assert.equal(new Set(first).size, 2);
  });

  it('copies shadow traffic to the candidate and never returns its answer', async () => {
    const w = await world({ strategy: 'shadow', candidate: 'challenger', shadow: { sample: 1 } }, [{ answer: 'Same  Answer' }, { answer: 'same answer' }]);
    for (let i = 0; i < 3; i++) {
      const a = await call(w.gw, '/v1/chat/completions', chat('chatbot', { stream: i === 2 }));
      assert.equal(a.status, 200);
      assert.equal(a.headers.get('x-berth-version'), 'cs-bot:1');
      if (i < 2) assert.equal(a.json.choices[0].message.content, 'Same  Answer', 'the client gets the stable answer');
      else assert.match(a.headers.get('content-type') as string, /^text\/event-stream/);
    }
    await waitFor('three shadow copies', () => w.rec.shadows.length === 3);
    for (const r of w.ups[1]?.requests ?? []) assert.equal(r.body.stream, false, 'copies are not streamed');
    assert.deepEqual(
      w.rec.shadows.map((s) => [s.deployment, s.version, s.error, s.differed]),
      Array.from({ length: 3 }, () => ['chatbot', 2, false, false]),
    );
    w.ups[1]?.set({ answer: 'something else' });
    await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    await waitFor('the fourth copy', () => w.rec.shadows.length === 4);
    assert.equal(w.rec.shadows[3]?.differed, true);
    w.ups[1]?.set({ errorEvery: 1 });
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(a.status, 200, 'a failing shadow never affects the client');
    await waitFor('the fifth copy', () => w.rec.shadows.length === 5);
    assert.equal(w.rec.shadows[4]?.error, true);
    assert.equal(w.rec.requests.length, 5, 'shadow copies are not client requests');
    const metrics = await (await fetch(`${w.gw.url}/metrics`)).text();
    assert.match(metrics, /berth_gateway_shadow_total\{deployment="chatbot",version="2",outcome="same"\} 3/);
    assert.match(metrics, /berth_gateway_shadow_total\{deployment="chatbot",version="2",outcome="differed"\} 1/);
    assert.match(metrics, /berth_gateway_shadow_total\{deployment="chatbot",version="2",outcome="error"\} 1/);
  });

  it('drops shadow copies beyond 64 in flight and counts them', async () => {
    const w = await world({}, [{}, { hang: true }]);
    w.registry.apply({
      deployment: 'shadowy',
      model: 'cs-bot',
      strategy: 'shadow',
      candidate: 'challenger',
      shadow: { sample: 1 },
      upstreams: [upstream(w.ups[0]?.url as string, { versions: [1] }), upstream(w.ups[1]?.url as string, { timeout_ms: 3000 })],
    });
    await waitFor('the shadow deployment', () => w.gw.view.get('shadowy')?.shadowVersion === 2);
    const answers = await Promise.all(Array.from({ length: 70 }, () => call(w.gw, '/v1/chat/completions', chat('shadowy'))));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    await waitFor('the copies to arrive', () => w.ups[1]?.count === 64);
    const metrics = await (await fetch(`${w.gw.url}/metrics`)).text();
    assert.match(metrics, /berth_gateway_shadow_total\{deployment="shadowy",version="2",outcome="dropped"\} 6/);
    await waitFor('the hung copies to time out as errors', () => w.rec.shadows.length === 64, 6000);
    assert.ok(w.rec.shadows.every((s) => s.error));
  });

  it('keeps blue-green on the old side until the switch completes', async () => {
    const w = await world({ strategy: 'blue-green', candidate: null });
    w.registry.setRollout('chatbot', { kind: 'blue-green', stable_version: 1, candidate_version: 2, weight: 0 });
    w.registry.setAlias('cs-bot', 'champion', 2);
    await waitFor('the move', () => w.gw.view.get('chatbot')?.aliases.champion === 2);
    assert.deepEqual(new Set(await versionsOf(w, 10, () => chat('chatbot'))), new Set(['cs-bot:1']));
    w.registry.setRollout('chatbot', { kind: 'blue-green', stable_version: 1, candidate_version: 2, weight: 100, state: 'completed' });
    await waitFor('the switch', () => w.gw.view.get('chatbot')?.weights.get(2) === 100);
    assert.deepEqual(new Set(await versionsOf(w, 10, () => chat('chatbot'))), new Set(['cs-bot:2']));
  });

  it('proxies any method below /d/<deployment>/ when the upstream speaks plain http', async () => {
    const w = await world();
    const res = await fetch(`${w.gw.url}/d/chatbot/predict?x=1`, { method: 'PUT', body: 'raw bytes' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-berth-version'), 'cs-bot:1');
    await res.text();
    const got = w.ups[0]?.requests.at(-1);
    assert.equal(got?.path, '/v1/predict');
    assert.equal(got?.body, 'raw bytes');
    assert.equal((await fetch(`${w.gw.url}/d/nope/predict`)).status, 404);
  });

  it('refuses a proxied path that would leave the upstream\u2019s path, or does not decode, with 400 and sends nothing upstream', async () => {
    const w = await world();
    const before = w.ups[0]?.requests.length ?? 0;
    for (const path of ['/d/chatbot/../admin', '/d/chatbot/%2e%2e/admin', '/d/chatbot/a%2Fb', '/d/chatbot/%E0%A4%A', '/d/%E0%A4%A/predict']) {
      const res = await rawGet(w.gw.url, path);
      assert.equal(res.status, 400, path);
      assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'invalid_path', path);
    }
    assert.equal(w.ups[0]?.requests.length ?? 0, before);
  });
});

/** A GET of `path` exactly as written (fetch would normalise `..` away before sending). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
