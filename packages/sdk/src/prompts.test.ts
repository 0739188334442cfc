import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, INLINE_BLOB_MAX_BYTES } from '@berth/core';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock } from '@berth/server';
import { BerthClient } from './index.js';
import { nodeFetch } from './node.js';

/** pushPrompt and renderPrompt against the real server (buildApp() over SQLite on a loopback port). */
describe('BerthClient prompts', () => {
  let client: BerthClient;
  let close: () => Promise<void>;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-sdk-prompts-'));
    const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
    const blobs = await FsBlobStore.open(join(dir, 'blobs'));
    const app = await buildApp({ registry: new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    client = new BerthClient({ url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, actor: 'ana', fetch: nodeFetch });
    close = async () => {
      await app.close();
      await blobs.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    };
  });
  after(() => close());

  it('pushes a template larger than a commit carries inline (uploaded first), with examples given as a list, and renders it by digest', async () => {
    const filler = 'é'.repeat(INLINE_BLOB_MAX_BYTES);
    const v = await client.pushPrompt('long', {
      template: `${filler} {{name}}`,
      examples: [{ variables: { name: 'Ana' } }],
      params: { max_tokens: 64 },
      tags: { team: 'support' },
    });
    assert.equal((await client.getModel('long')).kind, 'prompt');
    assert.deepEqual(v.metadata.prompt, { format: 'text', variables: ['name'] });
    assert.equal(v.tags.team, 'support');
    const r = await client.renderPrompt(`long@${v.digest}`, { name: 'Bo' });
    assert.equal(r.text, `${filler} Bo`);
    assert.deepEqual(r.examples, [{ variables: { name: 'Ana' } }]);
    assert.deepEqual(r.params, { max_tokens: 64 });
    assert.equal((await client.renderPrompt('long', { name: 'Cy' })).version, v.version);
  });

  it('pushes a chat template and refuses a render missing a variable with INVALID_ARGUMENT naming it', async () => {
    const v = await client.pushPrompt('chat', { template: JSON.stringify([{ role: 'user', content: 'Hi {{name}}' }]), format: 'chat' });
    assert.deepEqual((await client.renderPrompt(`chat:${v.version}`, { name: 'Ana' })).messages, [{ role: 'user', content: 'Hi Ana' }]);
    await assert.rejects(
      client.renderPrompt('chat:1'),
      (err: unknown) => err instanceof BerthError && err.code === 'INVALID_ARGUMENT' && /'name'/.test(err.message),
    );
  });
});
