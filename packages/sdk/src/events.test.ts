import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, type BerthEvent } from '@berth/core';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, localActor, openStore, Registry, systemClock, type Store } from '@berth/server';
import { BerthClient } from './index.js';

describe('BerthClient events', () => {
  let dir = '';
  let store: Store;
  let blobs: FsBlobStore;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let registry: Registry;
  let client: BerthClient;
  let flip = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-sdk-events-'));
    store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
    blobs = await FsBlobStore.open(join(dir, 'blobs'));
    registry = new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG });
    app = await buildApp({ registry });
    await app.listen({ host: '127.0.0.1', port: 0 });
    client = new BerthClient({ url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, actor: 'carol' });
    const sha = createHash('sha256').update('w').digest('hex');
    await client.putBlob(sha, new TextEncoder().encode('w'));
    for (let i = 0; i < 2; i++) await client.commitVersion('chatbot', { files: [{ path: 'w.bin', size: 1, sha256: sha }] });
  });
  after(async () => {
    await app.close();
    await blobs.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  // Through the registry, not HTTP: the test cuts every open connection, the client's idle ones too.
  const move = () => registry.aliases.set(localActor('self-declared:carol', 'api'), 'chatbot', 'champion', { version: (flip++ % 2) + 1 });

  it('pages events as JSON, filtered by type', async () => {
    const page = await client.listEvents({ types: ['version.created'], limit: 10 });
    assert.deepEqual(
      page.items.map((e) => [e.type, e.model, e.data.version]),
      [
        ['version.created', 'chatbot', 1],
        ['version.created', 'chatbot', 2],
      ],
    );
    assert.equal(page.next_cursor, null);
  });

  it('follows the stream and reconnects after the server drops it, with no gap and no duplicate', async () => {
    const start = (await client.listEvents({ limit: 1000 })).items.at(-1)?.seq ?? 0;
    await move();
    const ac = new AbortController();
    const got: BerthEvent[] = [];
    const reconnects: unknown[] = [];
    const done = (async () => {
      for await (const e of client.events({ after: start, types: ['alias.*'], signal: ac.signal, onReconnect: (err) => reconnects.push(err) })) {
        got.push(e);
        if (got.length === 1) {
          // The connection drops (a restart, a proxy timeout): everything open is cut.
          app.server.closeAllConnections();
          for (let i = 0; i < 3; i++) await move();
        }
        if (got.length === 4) break;
      }
    })();
    await done;
    ac.abort();
    assert.equal(reconnects.length, 1);
    assert.deepEqual(
      got.map((e) => e.seq),
      [start + 1, start + 2, start + 3, start + 4],
    );
    assert.ok(got.every((e) => e.type === 'alias.moved' && e.actor === 'self-declared:carol'));
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const e of client.events({ signal: ac.signal })) seen.push(e.seq);
    })();
    setTimeout(() => ac.abort(), 300);
    await done;
    assert.ok(seen.length > 0);
  });

  it('throws a refusal instead of retrying it', async () => {
    await assert.rejects(
      async () => {
        for await (const _ of client.events({ types: ['no.such'] })) break;
      },
      (err: unknown) => err instanceof BerthError && err.code === 'INVALID_ARGUMENT' && /no\.such/.test(err.message),
    );
  });

  it('throws when the server cannot be reached at first', async () => {
    const away = new BerthClient({ url: 'http://127.0.0.1:1' });
    await assert.rejects(
      async () => {
        for await (const _ of away.events()) break;
      },
      (err: unknown) => err instanceof BerthError && /cannot reach Berth/.test(err.message),
    );
  });
});
