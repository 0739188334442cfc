import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '@berth/core';
import { BERTH_API_HEADER, BerthClient, errorFrom } from './index.js';

/** What a Berth server answers: any response, with the header every Berth answer carries. */
function berthAnswer(res: Response): Response {
  res.headers.set(BERTH_API_HEADER, '1');
  return res;
}

describe('BerthClient', () => {
  it('sends the token as Authorization: Bearer on every request, and nothing without one', async () => {
    const seen: (string | null)[] = [];
    const fetchStub = async (_url: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return berthAnswer(Response.json({ items: [], next_cursor: null }));
    };
    await new BerthClient({ url: 'http://h:1', token: 'hf_abc', fetch: fetchStub as typeof fetch }).listModels();
    await new BerthClient({ url: 'http://h:1', token: 'hf_abc', fetch: fetchStub as typeof fetch }).headBlob('a'.repeat(64)).catch(() => undefined);
    await new BerthClient({ url: 'http://h:1', fetch: fetchStub as typeof fetch }).listModels();
    assert.deepEqual(seen, ['Bearer hf_abc', 'Bearer hf_abc', null]);
  });
  it('turns the server error shape into a BerthError with its code and details', async () => {
    const e = await errorFrom(
      new Response(JSON.stringify({ error: { code: 'CONFLICT', message: 'champion is at 2 now', details: { current: 2 } } }), { status: 409 }),
    );
    assert.ok(e instanceof BerthError);
    assert.equal(e.code, 'CONFLICT');
    assert.deepEqual(e.details, { current: 2 });
  });
  it('maps answers without the error shape by status', async () => {
    assert.equal((await errorFrom(new Response('nope', { status: 404, statusText: 'Not Found' }))).code, 'NOT_FOUND');
    assert.equal((await errorFrom(new Response('', { status: 401 }))).code, 'UNAUTHENTICATED');
    assert.equal((await errorFrom(new Response('', { status: 412 }))).code, 'FAILED_PRECONDITION');
    assert.equal((await errorFrom(new Response('', { status: 416 }))).code, 'INVALID_ARGUMENT');
    const proxy = await errorFrom(new Response('<html>\n  bad gateway</html>', { status: 502 }), 'http://h:1');
    assert.equal(proxy.code, 'INTERNAL');
    assert.match(proxy.message, /^the server at http:\/\/h:1 answered 502: <html> bad gateway<\/html> \(not a Berth error/);
  });
  it('keeps the error shape but drops details that are not an object', async () => {
    const e = await errorFrom(new Response(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'gone', details: [1] } }), { status: 404 }));
    assert.deepEqual([e.code, e.message, e.details], ['NOT_FOUND', 'gone', {}]);
    const unknownCode = await errorFrom(new Response(JSON.stringify({ error: { code: 'TEAPOT', message: 'x' } }), { status: 418 }));
    assert.equal(unknownCode.code, 'INTERNAL');
  });
  it('reports a 2xx answer that is not JSON as a server that is not Berth', async () => {
    const client = new BerthClient({ url: 'http://h:1', fetch: async () => berthAnswer(new Response('<html>hello</html>', { status: 200 })) });
    await assert.rejects(
      client.listModels(),
      (e: unknown) => e instanceof BerthError && e.code === 'INTERNAL' && /not JSON: is --url \(or BERTH_URL\) pointing at a Berth server/.test(e.message),
    );
  });
  it('refuses an answer without the Berth header as coming from another service, whatever its status', async () => {
    for (const answer of [new Response('<html>Not Found</html>', { status: 404 }), Response.json({ items: [], next_cursor: null })]) {
      const client = new BerthClient({ url: 'http://127.0.0.1:8080', fetch: async () => answer });
      await assert.rejects(
        client.listModels(),
        (e: unknown) =>
          e instanceof BerthError &&
          e.code === 'INVALID_ARGUMENT' &&
          e.message === 'http://127.0.0.1:8080: this is not a Berth server (no berth-api header); check --url / BERTH_URL',
      );
    }
  });
  it('says how to fix an unreachable server', async () => {
    const client = new BerthClient({
      url: 'http://127.0.0.1:9/',
      fetch: async () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })),
    });
    await assert.rejects(
      client.getModel('x'),
      (e: unknown) => e instanceof BerthError && /cannot reach Berth at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\).*berth server/.test(e.message),
    );
  });
  it('puts names with a namespace into one path segment and sends the actor', async () => {
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const client = new BerthClient({
      url: 'http://h:1',
      actor: 'ana',
      fetch: async (input, init) => {
        seen.push({ url: String(input), headers: init?.headers as Record<string, string> });
        return berthAnswer(new Response('{"items":[],"next_cursor":null}', { status: 200 }));
      },
    });
    await client.listVersions('my-team/chatbot', { limit: 5 });
    assert.equal(seen[0]!.url, 'http://h:1/api/v1/models/my-team%2Fchatbot/versions?limit=5');
    assert.equal(seen[0]!.headers['x-berth-actor'], 'ana');
    await client.setAlias('my-team/chatbot', 'champion', 2, { expect: null }).catch(() => {});
    assert.equal(seen[1]!.url, 'http://h:1/api/v1/models/my-team%2Fchatbot/aliases/champion');
    await client.deleteAlias('chatbot', 'staging', { expect: null, reason: 'roll back' });
    assert.equal(seen[2]!.url, 'http://h:1/api/v1/models/chatbot/aliases/staging?expect=none&reason=roll+back');
  });
  it('encodes each segment of a file path and refuses unsafe paths and blob keys before sending', async () => {
    const urls: string[] = [];
    const client = new BerthClient({ url: 'http://h:1', fetch: async (input) => (urls.push(String(input)), berthAnswer(new Response('x'))) });
    await client.openFile('chatbot', 3, 'sub dir/a#b.json', { start: 10 });
    assert.equal(urls[0], 'http://h:1/api/v1/models/chatbot/versions/3/files/sub%20dir/a%23b.json');
    await assert.rejects(client.openFile('chatbot', 3, '../etc/passwd'), (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(client.getBlob('../../models'), (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(client.getBlob('a'.repeat(64), { start: 5, end: 2 }), /invalid byte range/);
    assert.equal(urls.length, 1);
  });
  it('pages through every model with the cursor the server hands back', async () => {
    const pages: Record<string, { items: { name: string }[]; next_cursor: string | null }> = {
      '': { items: [{ name: 'a' }, { name: 'b' }], next_cursor: 'c1' },
      c1: { items: [{ name: 'c' }], next_cursor: null },
    };
    const client = new BerthClient({
      url: 'http://h:1',
      fetch: async (input) => berthAnswer(Response.json(pages[new URL(String(input)).searchParams.get('cursor') ?? ''])),
    });
    const names: string[] = [];
    for await (const m of client.iterModels({ pageSize: 2 })) names.push(m.name);
    assert.deepEqual(names, ['a', 'b', 'c']);
  });
  it('streams an async iterable body as a half-duplex web stream', async () => {
    let init: RequestInit | undefined;
    const client = new BerthClient({
      url: 'http://h:1',
      fetch: async (_input, i) => {
        init = i;
        const text = await new Response(i?.body).text();
        return berthAnswer(Response.json({ sha256: 'a'.repeat(64), size: text.length, created: true }, { status: 201 }));
      },
    });
    async function* parts() {
      yield new TextEncoder().encode('ab');
      yield new TextEncoder().encode('cd');
    }
    const r = await client.putBlob('a'.repeat(64), parts(), 4);
    assert.equal(r.size, 4);
    assert.ok(init?.body instanceof ReadableStream);
    assert.equal((init as { duplex?: string }).duplex, 'half');
    assert.equal((init?.headers as Record<string, string> | undefined)?.['content-length'], '4');
  });
});
