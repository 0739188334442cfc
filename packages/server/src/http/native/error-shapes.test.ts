import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { openTestApp } from '../../../test-support/app.js';

const MLFLOW = '/api/2.0/mlflow';

/** Berth's shape: `{error: {code, message, details}}` and nothing else. */
function assertBerthShape(body: string, code: string) {
  const json = JSON.parse(body);
  assert.deepEqual(Object.keys(json), ['error'], body);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'details', 'message'], body);
  assert.equal(json.error.code, code, body);
  return json.error as { code: string; message: string };
}

/** MLflow's shape: `{error_code, message}`. */
function assertMlflowShape(body: string, code: string) {
  const json = JSON.parse(body);
  assert.deepEqual(Object.keys(json).sort(), ['error_code', 'message'], body);
  assert.equal(json.error_code, code, body);
  return json as { error_code: string; message: string };
}

/** Sends raw bytes to the server and reads the whole answer: status and body. */
async function raw(port: number, request: string): Promise<{ status: number; head: string; body: string }> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => {
      out += d.toString('latin1');
    });
    socket.on('close', () => resolve(out));
    socket.on('error', (err) => (out ? resolve(out) : reject(err)));
    socket.write(request);
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const end = text.indexOf('\r\n\r\n');
  return { status, head: text.slice(0, end), body: text.slice(end + 4) };
}

describe('error shapes', () => {
  let app: FastifyInstance;
  let closeApp: () => Promise<void>;
  let port: number;
  const logged: Record<string, unknown>[] = [];

  before(async () => {
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) logged.push(JSON.parse(line));
        cb();
      },
    });
    const t = await openTestApp('berth-shapes-', { bodyLimit: 1024, logger: { level: 'debug', stream } });
    app = t.app;
    closeApp = t.close;
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => closeApp?.());

  it('answers unknown routes in Berth shape under /api/v1 and at other paths, and in MLflow shape under its prefix', async () => {
    for (const url of ['/api/v1/nope', '/nope', '/favicon.ico', '/api/v2/models']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 404, url);
      assertBerthShape(res.body, 'NOT_FOUND');
    }
    const m = await app.inject(`${MLFLOW}/nope`);
    assert.equal(m.statusCode, 404);
    assertMlflowShape(m.body, 'ENDPOINT_NOT_FOUND');
  });

  it('answers a body over the limit with 413 in the shape of its front', async () => {
    const big = { name: 'x'.repeat(2048) };
    for (const url of ['/api/v1/models', '/']) {
      const res = await app.inject({ method: 'POST', url, payload: big });
      assert.equal(res.statusCode, 413, url);
      assertBerthShape(res.body, 'PAYLOAD_TOO_LARGE');
    }
    const m = await app.inject({ method: 'POST', url: `${MLFLOW}/registered-models/create`, payload: big });
    assert.equal(m.statusCode, 400);
    assertMlflowShape(m.body, 'INVALID_PARAMETER_VALUE');
  });

  // MLflow's routes take no path parameters: their long URLs meet the 431 below.
  it('answers a path parameter over the limit with 414 in Berth shape', async () => {
    const long = 'a'.repeat(9000);
    const res = await app.inject(`/api/v1/models/${long}`);
    assert.equal(res.statusCode, 414);
    assert.equal(res.headers['berth-api'], '1', 'clients know the answer is from Berth');
    const e = assertBerthShape(res.body, 'PAYLOAD_TOO_LARGE');
    assert.ok(e.message.length < 400, 'the URL is not echoed whole');
  });

  it('answers headers over 16 KiB with 431 in the shape of the front the request line names', async () => {
    const header = `x-big: ${'b'.repeat(20_000)}\r\n`;
    for (const url of ['/api/v1/models', '/']) {
      const res = await raw(port, `GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\n${header}\r\n`);
      assert.equal(res.status, 431, url);
      assert.match(res.head, /\r\nberth-api: 1\r\n/i, 'clients know the answer is from Berth');
      assertBerthShape(res.body, 'PAYLOAD_TOO_LARGE');
    }
    const m = await raw(port, `GET ${MLFLOW}/registered-models/get?name=a HTTP/1.1\r\nHost: 127.0.0.1\r\n${header}\r\n`);
    assert.equal(m.status, 431);
    assertMlflowShape(m.body, 'INVALID_PARAMETER_VALUE');
  });

  it('answers a malformed Content-Length with 400 in the shape of its front', async () => {
    for (const url of ['/api/v1/models', '/']) {
      const res = await raw(port, `POST ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1x\r\n\r\n{}`);
      assert.equal(res.status, 400, url);
      assertBerthShape(res.body, 'INVALID_ARGUMENT');
    }
    const m = await raw(
      port,
      `POST ${MLFLOW}/registered-models/create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1x\r\n\r\n{}`,
    );
    assert.equal(m.status, 400);
    assertMlflowShape(m.body, 'INVALID_PARAMETER_VALUE');
  });

  it('answers invalid JSON in the shape of its front, and truncated JSON on MLflow as malformed, not missing', async () => {
    const native = await app.inject({ method: 'POST', url: '/api/v1/models', payload: '{"name": "a', headers: { 'content-type': 'application/json' } });
    assert.equal(native.statusCode, 400);
    assertBerthShape(native.body, 'INVALID_ARGUMENT');
    const m = await app.inject({
      method: 'POST',
      url: `${MLFLOW}/registered-models/create`,
      payload: '{"name": "trunc',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(m.statusCode, 400);
    const e = assertMlflowShape(m.body, 'INVALID_PARAMETER_VALUE');
    assert.match(e.message, /not valid JSON/);
    assert.doesNotMatch(e.message, /Missing value/);
  });

  it('echoes a 10,000-character name as its start and its length', async () => {
    const name = 'n'.repeat(10_000);
    for (const res of [
      await app.inject(`/api/v1/models/${name.slice(0, 8000)}`),
      await app.inject({ method: 'POST', url: '/api/v1/models', payload: { name }, headers: { 'content-type': 'application/json' } }),
    ]) {
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, res.body.slice(0, 200));
      assert.ok(res.body.length < 1000, `answer of ${res.body.length} characters`);
    }
    const m = await app.inject({ method: 'GET', url: `${MLFLOW}/registered-models/get`, query: { name: name.slice(0, 5000) } });
    assert.match(assertMlflowShape(m.body, 'INVALID_PARAMETER_VALUE').message, /n{90,}…\(5\d{3} characters\)/);
  });

  it('does not log a client that disconnects mid-upload as an internal error', async () => {
    logged.length = 0;
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `PUT /api/v1/blobs/${'a'.repeat(64)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n`,
        );
        socket.write(Buffer.alloc(1000));
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 300));
    const errors = logged.filter((l) => Number(l.level) >= 50 || /internal/i.test(String(l.msg)));
    assert.deepEqual(errors, []);
    assert.ok(
      logged.some((l) => /client closed/.test(String(l.msg))),
      'the disconnect is still recorded, below error level',
    );
  });
});
