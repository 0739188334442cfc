import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '@berth/core';
import { BerthClient, errorFrom } from './index.js';

describe('BerthClient', () => {
  it('turns the server error shape into a BerthError with its code and details', async () => {
    const e = await errorFrom(new Response(JSON.stringify({ error: { code: 'CONFLICT', message: 'champion is at 2 now', details: { current: 2 } } }), { status: 409 }));
    assert.ok(e instanceof BerthError);
    assert.equal(e.code, 'CONFLICT');
    assert.deepEqual(e.details, { current: 2 });
  });
  it('maps answers without the error shape by status', async () => {
    assert.equal((await errorFrom(new Response('nope', { status: 404, statusText: 'Not Found' }))).code, 'NOT_FOUND');
    assert.equal((await errorFrom(new Response('<html>', { status: 502 }))).code, 'INTERNAL');
  });
  it('says how to fix an unreachable server', async () => {
    const client = new BerthClient({ url: 'http://127.0.0.1:9/', fetch: async () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })) });
    await assert.rejects(client.getModel('x'), (e: unknown) => e instanceof BerthError && /cannot reach Berth at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\).*berth server/.test(e.message));
  });
  it('puts names with a namespace into one path segment and sends the actor', async () => {
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const client = new BerthClient({
      url: 'http://h:1',
      actor: 'ana',
      fetch: async (input, init) => {
        seen.push({ url: String(input), headers: init?.headers as Record<string, string> });
        return new Response('{"items":[],"next_cursor":null}', { status: 200 });
      },
    });
    await client.listVersions('my-team/chatbot', { limit: 5 });
    assert.equal(seen[0].url, 'http://h:1/api/v1/models/my-team%2Fchatbot/versions?limit=5');
    assert.equal(seen[0].headers['x-berth-actor'], 'ana');
  });
});
