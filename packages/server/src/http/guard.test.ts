import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { openTestApp, type TestApp } from '../../test-support/app.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');
const DAY = 24 * 3600 * 1000;
const EVIL = 'https://evil.example';

describe('browser guard', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let clockOffset = 0;

  async function json(method: InjectOptions['method'], url: string, payload?: unknown, headers: Record<string, string> = {}) {
    return app.inject({ method, url, payload: payload as InjectOptions['payload'], headers: { 'content-type': 'application/json', ...headers } });
  }
  async function putBlob(content: string) {
    const res = await app.inject({
      method: 'PUT',
      url: `/api/v1/blobs/${sha(content)}`,
      payload: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 201, res.body);
  }
  const alias = async () => {
    const { items } = (await app.inject('/api/v1/models/chatbot/aliases')).json() as { items: { alias: string; version: number; frozen: boolean }[] };
    return items.find((a) => a.alias === 'champion');
  };
  const auditCount = async () =>
    (
      await t.store.db
        .selectFrom('audit_events')
        .select((e) => e.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n;

  before(async () => {
    t = await openTestApp('berth-guard-', {
      clock: { now: () => Date.now() + clockOffset },
      guard: { allowedHosts: ['models.internal'], allowedOrigins: ['https://ui.example.com'] },
    });
    app = t.app;
    await putBlob('v1');
    const v = await json('POST', '/api/v1/models/chatbot/versions', { files: [{ path: 'w.bin', sha256: sha('v1'), size: 2 }] });
    assert.equal(v.statusCode, 201, v.body);
    assert.equal((await json('PUT', '/api/v1/models/chatbot/aliases/champion', { version: 1 })).statusCode, 200);
  });
  after(async () => t?.close());

  describe('cross-site requests', () => {
    it('refuses a text/plain POST that would freeze an alias or run gc, and changes nothing', async () => {
      await putBlob('an orphan nobody references');
      clockOffset = 2 * DAY; // past gc's grace period: a gc that ran would remove the orphan
      try {
        const audit = await auditCount();
        const freeze = await app.inject({
          method: 'POST',
          url: '/api/v1/models/chatbot/aliases/champion/freeze',
          payload: '{"reason":"x"}',
          headers: { 'content-type': 'text/plain;charset=UTF-8' },
        });
        assert.equal(freeze.statusCode, 400, freeze.body);
        assert.equal(freeze.json().error.code, 'INVALID_ARGUMENT');
        assert.match(freeze.json().error.message, /Content-Type: application\/json.*not "text\/plain"/);
        assert.equal((await alias())?.frozen, false);

        const gc = await app.inject({ method: 'POST', url: '/api/v1/gc', payload: '{}', headers: { 'content-type': 'text/plain' } });
        assert.equal(gc.statusCode, 400, gc.body);
        assert.equal((await app.inject({ method: 'HEAD', url: `/api/v1/blobs/${sha('an orphan nobody references')}` })).statusCode, 200);
        assert.equal(await auditCount(), audit, 'no audit event: nothing happened');
      } finally {
        clockOffset = 0;
      }
    });

    it('refuses form-encoded, multipart and body-less POSTs on every front, each in its own error shape', async () => {
      const form = await app.inject({
        method: 'POST',
        url: '/api/v1/models',
        payload: 'name=planted',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(form.statusCode, 400, form.body);
      assert.equal(form.json().error.code, 'INVALID_ARGUMENT');
      const multipart = await app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/registered-models/create',
        payload: '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nplanted\r\n--b--\r\n',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
      });
      assert.equal(multipart.statusCode, 400, multipart.body);
      assert.equal(multipart.json().error_code, 'INVALID_PARAMETER_VALUE');
      for (const url of ['/ajax-api/2.0/mlflow/registered-models/create', '/api/2.0/mlflow-artifacts/mpu/create/1/r/artifacts']) {
        const plain = await app.inject({ method: 'POST', url, payload: '{"name":"planted","path":"x"}', headers: { 'content-type': 'text/plain' } });
        assert.deepEqual([plain.statusCode, plain.json().error_code], [400, 'INVALID_PARAMETER_VALUE'], url);
      }
      const bare = await app.inject({ method: 'POST', url: '/api/v1/models/chatbot/aliases/champion/freeze' });
      assert.equal(bare.statusCode, 400, bare.body);
      assert.match(bare.json().error.message, /not none/);
      assert.equal((await app.inject('/api/v1/models/planted')).statusCode, 404);
      assert.equal((await alias())?.frozen, false);
    });

    it('takes an MLflow artifact as text/plain, as the mlflow client sends .txt files: a PUT always asks first', async () => {
      const res = await app.inject({
        method: 'PUT',
        url: '/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/notes.txt',
        payload: 'hi',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(res.statusCode, 200, res.body);
    });

    it('refuses a state change from a foreign Origin, even with a JSON body, and accepts its own and allowed origins', async () => {
      const evil = await json('POST', '/api/v1/models', { name: 'planted' }, { origin: EVIL });
      assert.equal(evil.statusCode, 403, evil.body);
      assert.equal(evil.json().error.code, 'PERMISSION_DENIED');
      assert.match(evil.json().error.message, /https:\/\/evil\.example.*--allowed-origins/);
      const nul = await json('DELETE', '/api/v1/models/chatbot/aliases/champion', undefined, { origin: 'null' });
      assert.equal(nul.statusCode, 403, nul.body);
      const ml = await json('DELETE', '/api/2.0/mlflow/registered-models/delete', { name: 'chatbot' }, { origin: EVIL });
      assert.deepEqual([ml.statusCode, ml.json().error_code], [403, 'PERMISSION_DENIED']);
      const put = await app.inject({ method: 'PUT', url: '/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/x', payload: 'x', headers: { origin: EVIL } });
      assert.equal(put.statusCode, 403, put.body);
      assert.equal((await app.inject('/api/v1/models/planted')).statusCode, 404);
      assert.equal((await alias())?.version, 1);
      // reading is not a state change: the browser keeps a cross-origin answer from the page anyway
      assert.equal((await app.inject({ url: '/api/v1/models', headers: { origin: EVIL } })).statusCode, 200);

      const allowed = await json('POST', '/api/v1/models', { name: 'from-ui' }, { origin: 'https://ui.example.com' });
      assert.equal(allowed.statusCode, 201, allowed.body);
      const own = await json('POST', '/api/v1/models', { name: 'from-itself' }, { origin: 'http://models.internal:7878', host: 'models.internal:7878' });
      assert.equal(own.statusCode, 201, own.body);
      const otherPort = await json('POST', '/api/v1/models', { name: 'other-port' }, { origin: 'http://localhost:3000', host: 'localhost:7878' });
      assert.equal(otherPort.statusCode, 403, 'another server on the same machine is another origin');
    });
  });

  describe('DNS rebinding', () => {
    it('refuses a Host the server does not answer to, on every front, and answers its own names', async () => {
      const native = await app.inject({ url: '/api/v1/models', headers: { host: 'rebind.evil.example:7878' } });
      assert.equal(native.statusCode, 400, native.body);
      assert.equal(native.json().error.code, 'INVALID_ARGUMENT');
      assert.match(native.json().error.message, /"rebind\.evil\.example:7878".*--allowed-hosts/);
      const freeze = await json('POST', '/api/v1/models/chatbot/aliases/champion/freeze', {}, { host: 'rebind.evil.example:7878' });
      assert.equal(freeze.statusCode, 400, freeze.body);
      assert.equal((await alias())?.frozen, false);
      for (const url of ['/api/2.0/mlflow/registered-models/search', '/api/2.0/mlflow-artifacts/artifacts', '/ajax-api/2.0/mlflow/no-such-route']) {
        const res = await app.inject({ url, headers: { host: 'rebind.evil.example' } });
        assert.deepEqual([res.statusCode, res.json().error_code], [400, 'INVALID_PARAMETER_VALUE'], url);
      }
      const long = await app.inject({ url: '/api/v1/models', headers: { host: `${'a'.repeat(5000)}.example` } });
      assert.ok(long.json().error.message.length < 400, 'a long Host is not echoed whole');
      for (const host of ['localhost:7878', '127.0.0.1:1', '[::1]:7878', 'LOCALHOST', 'models.internal', 'models.internal.:8080']) {
        assert.equal((await app.inject({ url: '/api/v1/models', headers: { host } })).statusCode, 200, host);
      }
      // probes dial an address, not a name
      assert.equal((await app.inject({ url: '/healthz', headers: { host: '10.1.2.3:7878' } })).statusCode, 200);
    });

    it('answers the public URL host, and any host with allowed_hosts *', async () => {
      const pub = await openTestApp('berth-guard-pub-', { guard: { publicUrl: 'https://models.example.com/berth' } });
      const any = await openTestApp('berth-guard-any-', { guard: { allowedHosts: ['*'] } });
      try {
        assert.equal((await pub.app.inject({ url: '/api/v1/models', headers: { host: 'models.example.com' } })).statusCode, 200);
        assert.equal((await pub.app.inject({ url: '/api/v1/models', headers: { host: 'elsewhere.example.com' } })).statusCode, 400);
        const fromPub = await pub.app.inject({
          method: 'POST',
          url: '/api/v1/models',
          payload: { name: 'x' },
          headers: { host: 'models.example.com', origin: 'https://models.example.com' },
        });
        assert.equal(fromPub.statusCode, 201, fromPub.body);
        assert.equal((await any.app.inject({ url: '/api/v1/models', headers: { host: 'elsewhere.example.com' } })).statusCode, 200);
      } finally {
        await pub.close();
        await any.close();
      }
    });
  });

  describe('URLs handed out', () => {
    it('builds multipart part URLs from the public URL, whatever Host the caller sent', async () => {
      const pub = await openTestApp('berth-guard-mpu-', { guard: { publicUrl: 'https://models.example.com/berth', allowedHosts: ['proxy.internal'] } });
      try {
        const res = await pub.app.inject({
          method: 'POST',
          url: '/api/2.0/mlflow-artifacts/mpu/create/1/r/artifacts',
          payload: { path: '/tmp/w.bin', num_parts: 2 },
          headers: { host: 'proxy.internal:9000' },
        });
        assert.equal(res.statusCode, 200, res.body);
        const { upload_id, credentials } = res.json() as { upload_id: string; credentials: { url: string }[] };
        assert.deepEqual(
          credentials.map((c) => c.url),
          [1, 2].map((n) => `https://models.example.com/berth/api/2.0/mlflow-artifacts/mpu/part/${upload_id}/${n}`),
        );
      } finally {
        await pub.close();
      }
    });
  });

  it('records a name the caller declared as self-declared in the audit trail', async () => {
    assert.equal((await json('POST', '/api/v1/models', { name: 'declared' }, { 'x-berth-actor': 'ana' })).statusCode, 201);
    assert.equal((await json('POST', '/api/v1/models', { name: 'anonymous' })).statusCode, 201);
    const audit = (await app.inject('/api/v1/audit?limit=1000')).json() as { items: { actor: string; subject?: string; model?: string }[] };
    const actors = audit.items.map((e) => e.actor);
    assert.ok(actors.includes('self-declared:ana'), JSON.stringify(actors));
    assert.ok(!actors.includes('ana') && !actors.includes('local:ana'), 'the declared name never reads as an identity');
  });
});
