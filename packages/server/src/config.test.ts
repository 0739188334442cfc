import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '@berth/core';
import { authRequired, checkListenSafety, resolveConfig } from './config.js';

describe('resolveConfig: browser safety settings', () => {
  it('reads public_url, allowed_hosts and allowed_origins with flags > environment > berth.yaml', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'berth-config-'));
    after(() => rm(cwd, { recursive: true, force: true }));
    await writeFile(
      join(cwd, 'berth.yaml'),
      'public_url: https://file.example.com/berth/\nallowed_hosts: [a.example.com, B.Example.com.]\nallowed_origins: https://ui.example.com\n',
    );
    const fromFile = resolveConfig({ cwd, env: {} });
    assert.equal(fromFile.publicUrl, 'https://file.example.com/berth');
    assert.deepEqual(fromFile.allowedHosts, ['a.example.com', 'b.example.com']);
    assert.deepEqual(fromFile.allowedOrigins, ['https://ui.example.com']);
    const env = { BERTH_PUBLIC_URL: 'http://env.example.com:8080', BERTH_ALLOWED_HOSTS: 'env.example.com, [::2]', BERTH_ALLOWED_ORIGINS: '*' };
    const fromEnv = resolveConfig({ cwd, env });
    assert.deepEqual([fromEnv.publicUrl, fromEnv.allowedHosts, fromEnv.allowedOrigins], ['http://env.example.com:8080', ['env.example.com', '[::2]'], ['*']]);
    const fromFlags = resolveConfig({ cwd, env, publicUrl: 'https://flag.example.com', allowedHosts: '*', allowedOrigins: 'http://localhost:3000/' });
    assert.deepEqual([fromFlags.publicUrl, fromFlags.allowedHosts, fromFlags.allowedOrigins], ['https://flag.example.com', ['*'], ['http://localhost:3000']]);
  });

  it('leaves the public URL to the listener and allows nothing more by default', () => {
    const cfg = resolveConfig({ cwd: tmpdir(), env: {} });
    assert.deepEqual([cfg.publicUrl, cfg.allowedHosts, cfg.allowedOrigins], [undefined, [], []]);
  });

  it('refuses values that are not what they claim, naming the setting', () => {
    const cwd = tmpdir();
    assert.throws(() => resolveConfig({ cwd, env: {}, publicUrl: 'models.example.com' }), /public_url must be an http\(s\) URL/);
    assert.throws(() => resolveConfig({ cwd, env: {}, publicUrl: 'https://x.example.com/?a=1' }), /public_url/);
    assert.throws(
      () => resolveConfig({ cwd, env: { BERTH_ALLOWED_HOSTS: 'https://x.example.com' } }),
      /allowed_hosts has "https:\/\/x.example.com", which is not a host name/,
    );
    assert.throws(() => resolveConfig({ cwd, env: {}, allowedHosts: 'x.example.com:8080' }), /allowed_hosts/);
    assert.throws(() => resolveConfig({ cwd, env: {}, allowedOrigins: 'ui.example.com' }), /allowed_origins has "ui.example.com", which is not an origin/);
    assert.throws(() => resolveConfig({ cwd, env: {}, allowedOrigins: 'https://ui.example.com/app' }), /allowed_origins/);
  });
  it('allows private webhook targets from BERTH_WEBHOOK_ALLOW_PRIVATE or webhooks.allow_private, and refuses a malformed webhooks setting', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'berth-cfg-wh-'));
    assert.equal(resolveConfig({ cwd, env: {} }).webhookAllowPrivate, false);
    assert.equal(resolveConfig({ cwd, env: { BERTH_WEBHOOK_ALLOW_PRIVATE: '1' } }).webhookAllowPrivate, true);
    await writeFile(join(cwd, 'berth.yaml'), 'webhooks:\n  allow_private: true\n');
    assert.equal(resolveConfig({ cwd, env: {} }).webhookAllowPrivate, true);
    await writeFile(join(cwd, 'berth.yaml'), 'webhooks:\n  allow_privat: true\n');
    assert.throws(() => resolveConfig({ cwd, env: {} }), /webhooks has unknown setting\(s\) allow_privat: known is allow_private/);
    await writeFile(join(cwd, 'berth.yaml'), 'webhooks: yes\n');
    assert.throws(() => resolveConfig({ cwd, env: {} }), /webhooks must be a mapping/);
    await rm(cwd, { recursive: true, force: true });
  });
  it('refuses unsafe pickles from --refuse-unsafe-pickle, BERTH_REFUSE_UNSAFE_PICKLE or uploads.refuse_unsafe_pickle, and refuses a malformed uploads setting', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'berth-cfg-up-'));
    after(() => rm(cwd, { recursive: true, force: true }));
    assert.equal(resolveConfig({ cwd, env: {} }).refuseUnsafePickle, false);
    assert.equal(resolveConfig({ cwd, env: { BERTH_REFUSE_UNSAFE_PICKLE: '1' } }).refuseUnsafePickle, true);
    await writeFile(join(cwd, 'berth.yaml'), 'uploads:\n  refuse_unsafe_pickle: true\n');
    assert.equal(resolveConfig({ cwd, env: {} }).refuseUnsafePickle, true);
    assert.equal(resolveConfig({ cwd, env: {}, refuseUnsafePickle: false }).refuseUnsafePickle, false);
    await writeFile(join(cwd, 'berth.yaml'), 'uploads:\n  refuse_pickles: true\n');
    assert.throws(() => resolveConfig({ cwd, env: {} }), /uploads has unknown setting\(s\) refuse_pickles: known is refuse_unsafe_pickle/);
    await writeFile(join(cwd, 'berth.yaml'), 'uploads: [1]\n');
    assert.throws(() => resolveConfig({ cwd, env: {} }), /uploads must be a mapping/);
  });
});

describe('resolveConfig: authentication', () => {
  it('reads auth with flags > environment > berth.yaml, off by default', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'berth-config-auth-'));
    after(() => rm(cwd, { recursive: true, force: true }));
    assert.equal(resolveConfig({ cwd, env: {} }).auth, false);
    await writeFile(join(cwd, 'berth.yaml'), 'auth: true\n');
    assert.equal(resolveConfig({ cwd, env: {} }).auth, true);
    assert.equal(resolveConfig({ cwd, env: { BERTH_AUTH: '0' } }).auth, false);
    assert.equal(resolveConfig({ cwd, env: { BERTH_AUTH: '0' }, auth: true }).auth, true);
  });

  it('requires tokens with --auth, or on a non-loopback address unless --insecure-no-auth', () => {
    const cfg = (o: object) => ({ ...resolveConfig({ cwd: tmpdir(), env: {} }), ...o });
    assert.equal(authRequired(cfg({ host: '127.0.0.1' })), false);
    assert.equal(authRequired(cfg({ host: '::1', auth: true })), true);
    assert.equal(authRequired(cfg({ host: '0.0.0.0' })), true);
    assert.equal(authRequired(cfg({ host: '0.0.0.0', insecureNoAuth: true })), false);
    assert.equal(authRequired(cfg({ host: '0.0.0.0', insecureNoAuth: true, auth: true })), true);
  });

  it('refuses a non-loopback listener that requires tokens while none exists, and warns when it is open to all', () => {
    const cfg = (o: object) => ({ ...resolveConfig({ cwd: tmpdir(), env: {} }), ...o });
    assert.equal(checkListenSafety(cfg({ host: '127.0.0.1' }), 0), undefined);
    assert.equal(checkListenSafety(cfg({ host: '10.0.0.5' }), 1), undefined);
    assert.throws(
      () => checkListenSafety(cfg({ host: '10.0.0.5' }), 0),
      (e: unknown) => e instanceof BerthError && e.code === 'FAILED_PRECONDITION' && /refusing to listen on 10\.0\.0\.5 without authentication/.test(e.message),
    );
    assert.throws(() => checkListenSafety(cfg({ host: '10.0.0.5', insecureNoAuth: true, auth: true }), 0), /no token exists yet/);
    assert.match(
      checkListenSafety(cfg({ host: '10.0.0.5', insecureNoAuth: true }), 0) ?? '',
      /^WARNING: listening on 10\.0\.0\.5 with authentication disabled/,
    );
  });
});
