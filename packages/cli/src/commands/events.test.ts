import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BerthEvent } from '@berth/core';
import { BerthClient } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, localActor, openStore, Registry, systemClock, type Store } from '@berth/server';
import { main } from '../main.js';
import type { Io } from '../io.js';

describe('berth events', () => {
  let dir = '';
  let url = '';
  let store: Store;
  let blobs: FsBlobStore;
  let registry: Registry;
  let app: Awaited<ReturnType<typeof buildApp>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-events-'));
    store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
    blobs = await FsBlobStore.open(join(dir, 'blobs'));
    registry = new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG });
    app = await buildApp({ registry });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const client = new BerthClient({ url, actor: 'setup', fetch: nodeFetch });
    for (const text of ['one', 'two']) {
      const sha = createHash('sha256').update(text).digest('hex');
      await client.createVersion('chatbot', {
        files: [{ path: 'w.txt', size: 3, sha256: sha }],
        blobs: [{ sha256: sha, base64: Buffer.from(text).toString('base64') }],
      });
    }
    await client.moveAliases('chatbot', [{ alias: 'champion', version: 1 }]);
    await client.moveAliases('chatbot', [{ alias: 'champion', version: 2 }]);
  });
  after(async () => {
    await app.close();
    await blobs.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function berth(argv: string[], signal?: AbortSignal, onOut?: (all: string) => void) {
    const out: string[] = [];
    const errs: string[] = [];
    const io: Io = {
      stdout: {
        write: (s: string) => {
          out.push(s);
          onOut?.(out.join(''));
        },
      },
      stderr: { write: (s: string) => errs.push(s) },
      env: { USER: 'ana', BERTH_URL: url },
      cwd: tmpdir(),
      ...(signal ? { signal } : {}),
    };
    const code = await main(argv, io);
    return { code, stdout: out.join(''), stderr: errs.join('') };
  }

  it('prints one line per event: seq, time, type, subject, actor, and an alias move from → to', async () => {
    const r = await berth(['events']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[0] as string, /^1 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}model\.created {2}chatbot {2}self-declared:setup$/);
    assert.match(lines[3] as string, /^4 {2}\S+ \S+ {2}alias\.moved {2}chatbot@champion {2}self-declared:setup {2}- → 1$/);
    assert.match(lines[4] as string, /alias\.moved {2}chatbot@champion {2}self-declared:setup {2}1 → 2$/);
  });

  it('filters by --after, --types and --model, and prints one JSON object per line with --json', async () => {
    const r = await berth(['events', '--after', '3', '--types', 'alias.*', '--model', 'chatbot', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BerthEvent);
    assert.deepEqual(
      events.map((e) => [e.seq, e.type, e.data.previous_version, e.data.version]),
      [
        [4, 'alias.moved', null, 1],
        [5, 'alias.moved', 1, 2],
      ],
    );
    const none = await berth(['events', '--model', 'nobody']);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, '');
    assert.equal(none.stderr, 'no events\n');
  });

  it('exits 2 for a bad --after or an unknown type, naming it', async () => {
    for (const bad of ['-1', 'abc', '1.5']) {
      const r = await berth(['events', '--after', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--after/);
    }
    const r = await berth(['events', '--types', 'alias.moovd']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown event type "alias\.moovd"/);
  });

  it('--follow prints live events and resumes after a dropped connection, without a gap or a repeat', async () => {
    const ac = new AbortController();
    let dropped = false;
    let moved = 0;
    const follow = berth(['events', '--follow', '--after', '5', '--json'], ac.signal, (all) => {
      const n = all.trim().split('\n').length;
      if (n === 1 && !dropped) {
        dropped = true;
        app.server.closeAllConnections();
        void (async () => {
          for (const v of [2, 1]) await registry.aliases.set(localActor('bob', 'api'), 'chatbot', 'champion', { version: v });
          moved = 2;
        })();
      }
      if (n === 3) ac.abort();
    });
    await registry.aliases.set(localActor('bob', 'api'), 'chatbot', 'champion', { version: 1 });
    const r = await follow;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(moved, 2);
    assert.match(r.stderr, /event stream dropped .*; reconnecting/);
    assert.deepEqual(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as BerthEvent).seq),
      [6, 7, 8],
    );
  });
});
