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

async function metricsOf(w: World): Promise<string> {
  return (await fetch(`${w.gw.url}/metrics`)).text();
}

describe('gateway upstream failures', () => {
  it('answers 504 within the timeout and counts an error when the upstream hangs', async () => {
    const w = await world({}, [{ hang: true }]);
    w.registry.apply({ deployment: 'slow', model: 'cs-bot', upstreams: [upstream(w.ups[0]?.url as string, { timeout_ms: 300 })] });
    await waitFor('the deployment', () => w.gw.view.get('slow') !== undefined);
    const t0 = Date.now();
    const a = await call(w.gw, '/v1/chat/completions', chat('slow'));
    const took = Date.now() - t0;
    assert.equal(a.status, 504);
    assert.equal(a.json.error.code, 'upstream_timeout');
    assert.equal(a.headers.get('x-berth-version'), 'cs-bot:1');
    assert.ok(took >= 280 && took < 1500, `answered after ${took} ms`);
    assert.equal(w.rec.requests.at(-1)?.error, true);
    assert.match(await metricsOf(w), /berth_gateway_requests_total\{deployment="slow",version="1",outcome="error"\} 1/);
  });

  it('answers 502 upstream_bad_response when a 200 is not JSON', async () => {
    const w = await world({}, [{ garbage: true }]);
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(a.status, 502);
    assert.equal(a.json.error.code, 'upstream_bad_response');
    assert.equal(w.rec.requests[0]?.error, true);
    assert.equal(w.rec.requests[0]?.output, null);
  });

  it('passes a 5xx through with its status and counts it as an error', async () => {
    const w = await world({}, [{ errorEvery: 2 }]);
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('chatbot'))).status, 200);
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(a.status, 500);
    assert.match(a.json.error.message, /v1 failed request 2/);
    assert.equal(a.headers.get('x-berth-version'), 'cs-bot:1');
    assert.deepEqual(
      w.rec.requests.map((r) => r.error),
      [false, true],
    );
    const m = await metricsOf(w);
    assert.match(m, /berth_gateway_requests_total\{deployment="chatbot",version="1",outcome="ok"\} 1/);
    assert.match(m, /berth_gateway_requests_total\{deployment="chatbot",version="1",outcome="error"\} 1/);
  });

  it('answers 502 upstream_unavailable when nothing listens', async () => {
    const w = await world();
    await w.ups[0]?.close();
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(a.status, 502);
    assert.equal(a.json.error.code, 'upstream_unavailable');
    assert.equal(w.rec.requests[0]?.error, true);
  });

  it('ends the stream with an upstream_stream_cut error event when the upstream closes mid-stream', async () => {
    const w = await world({}, [{ cutStreamAfter: 2, chunks: 4 }]);
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot', { stream: true }));
    assert.equal(a.status, 200);
    const events = a.text.split('\n\n').filter(Boolean);
    assert.equal(events.length, 3, a.text);
    const last = JSON.parse((events[2] as string).slice('data: '.length));
    assert.equal(last.error.code, 'upstream_stream_cut');
    assert.equal(w.rec.requests[0]?.error, true);
  });

  it('pipes each chunk to the client before the upstream has finished when streaming', async () => {
    const w = await world({}, [{ chunks: 4, chunkDelayMs: 250, answer: 'abcdefgh', usage: { prompt_tokens: 7, completion_tokens: 3 } }]);
    const t0 = Date.now();
    const res = await fetch(`${w.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat('chatbot', { stream: true })),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    const firstAt = Date.now() - t0;
    assert.match(new TextDecoder().decode(first.value), /"content":"ab"/);
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    const doneAt = Date.now() - t0;
    assert.ok(firstAt < 200, `first chunk after ${firstAt} ms`);
    assert.ok(doneAt >= 700, `stream done after ${doneAt} ms`);
    assert.match(rest, /data: \[DONE\]/);
    const o = w.rec.requests[0];
    assert.equal(o?.output, 'abcdefgh');
    assert.deepEqual([o?.tokensIn, o?.tokensOut, o?.error], [7, 3, false]);
  });
});
