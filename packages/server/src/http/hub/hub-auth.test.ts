import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { commitIdOf } from '@berth/core';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('hub front with auth on', () => {
  let t: TestApp;
  let token = '';
  let commit = '';
  const repo = 'team/secret-bot';

  before(async () => {
    t = await openTestApp('berth-hub-auth-', { auth: true });
    const local = localActor();
    const content = '{"hidden": true}';
    const v = await t.registry.versions.create(local, repo, {
      files: [{ path: 'config.json', size: content.length, sha256: sha(content) }],
      blobs: [{ sha256: sha(content), base64: Buffer.from(content).toString('base64') }],
    });
    commit = commitIdOf(v.digest);
    // A viewer scoped to other models still reads (scopes narrow writes), as huggingface_hub's HF_TOKEN does.
    token = (await t.registry.tokens.create(local, { name: 'hub-reader', role: 'viewer', models: ['other/*'] })).token;
  });
  after(() => t.close());

  it('refuses an anonymous or unknown-token download, and serves one with the hf_ token as Bearer', async () => {
    const anonymous = await t.app.inject(`/${repo}/resolve/main/config.json`);
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.body.includes('hidden'), false);
    const forged = await t.app.inject({ url: `/${repo}/resolve/main/config.json`, headers: { authorization: `Bearer hf_${'x'.repeat(40)}` } });
    assert.equal(forged.statusCode, 401);
    assert.ok(token.startsWith('hf_'), 'the Hub JS client only sends hf_ tokens');
    const ok = await t.app.inject({ url: `/${repo}/resolve/main/config.json`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '{"hidden": true}');
    assert.equal(ok.headers['x-repo-commit'], commit);
  });

  it('keeps model info behind the token too', async () => {
    assert.equal((await t.app.inject(`/api/models/${repo}`)).statusCode, 401);
    const info = await t.app.inject({ url: `/api/models/${repo}`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(info.statusCode, 200);
    assert.equal(info.json().sha, commit);
  });
});
