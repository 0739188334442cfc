import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BerthEvent } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { WebhookReceiver } from '../../test-support/webhook-receiver.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from '../registry/registry.js';
import { DEFAULT_REGISTRY_CONFIG } from '../registry/deps.js';
import { localActor, systemClock } from '../registry/actor.js';
import { openStore, type Store } from '../store/store.js';
import { WebhookDispatcher, type DispatcherOptions } from './dispatcher.js';

const admin = localActor('local:tester');

for (const backend of BACKENDS) {
  describe(`webhook dispatcher on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let url = '';
    let reg: Registry;
    let rx: WebhookReceiver;
    let cleanup: () => Promise<void>;
    const dispatchers: WebhookDispatcher[] = [];

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      url = opened.url;
      cleanup = opened.cleanup;
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store, blobs, clock: systemClock, config: { ...DEFAULT_REGISTRY_CONFIG, webhookAllowPrivate: true } });
      rx = await WebhookReceiver.start();
      const h = createHash('sha256').update('w').digest('hex');
      await reg.blobs.put(admin, h, Readable.from([Buffer.from('w')]));
      for (const m of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']) {
        for (let i = 0; i < 3; i++) await reg.versions.create(admin, m, { files: [{ path: 'w', size: 1, sha256: h }] });
      }
    });
    after(async () => {
      for (const d of dispatchers) await d.stop();
      await rx.close();
      await cleanup();
    });

    beforeEach(async () => {
      // Each test's dispatchers only: one left running from an earlier test would deliver too.
      for (const d of dispatchers.splice(0)) await d.stop();
    });

    function dispatcher(opts: Partial<DispatcherOptions> = {}, on: Store = store): WebhookDispatcher {
      const d = new WebhookDispatcher({ store: on, allowPrivate: true, baseDelayMs: 5, maxDelayMs: 20, attemptTimeoutMs: 2000, pollMs: 50, ...opts });
      dispatchers.push(d);
      return d;
    }

    async function hook(path: string, events?: string[]) {
      const w = await reg.webhooks.create(admin, { url: `${rx.url}${path}`, ...(events ? { events } : {}) });
      rx.expect(path, w.secret);
      return w;
    }

    const moved = new Map<string, number>();
    /** Moves staging on model `m` through versions 1,2,3,1,2,… `n` times; returns the event seqs. */
    async function moves(m: string, n: number): Promise<number[]> {
      const seqs: number[] = [];
      for (let i = 0; i < n; i++) {
        const k = moved.get(m) ?? 0;
        moved.set(m, k + 1);
        await reg.aliases.set(admin, m, 'staging', { version: (k % 3) + 1 });
        seqs.push(await store.read.events.last());
      }
      return seqs;
    }

    const events = (path: string) => rx.on(path).map((c) => JSON.parse(c.body) as BerthEvent);

    it('delivers alias moves in order, signed, with webhook-id evt_<seq>, and logs each delivery', async () => {
      const w = await hook('/order', ['alias.moved']);
      const d = dispatcher();
      d.start();
      const seqs = await moves('m1', 20);
      await rx.waitFor(() => rx.on('/order').length >= 20);
      await d.drain();
      const got = rx.on('/order');
      assert.equal(got.length, 20);
      assert.ok(
        got.every((c) => c.signed),
        'every call carries a valid Standard Webhooks signature',
      );
      assert.deepEqual(
        got.map((c) => c.headers['webhook-id']),
        seqs.map((s) => `evt_${s}`),
      );
      const evs = events('/order');
      assert.deepEqual(
        evs.map((e) => e.seq),
        seqs,
      );
      assert.equal(evs[1]?.type, 'alias.moved');
      assert.deepEqual([evs[1]?.data.previous_version, evs[1]?.data.version, evs[1]?.data.alias], [1, 2, 'staging']);
      const page = await reg.webhooks.deliveries(admin, w.id, { limit: 100 });
      assert.equal(page.items.length, 20);
      for (const dl of page.items) {
        assert.equal(dl.state, 'delivered');
        assert.equal(dl.attempts, 1);
        assert.equal(dl.last_status, 200);
        assert.ok(dl.latency_ms !== null && dl.delivered_at !== null);
      }
      assert.equal(await d.outboxLag(), 0);
      await reg.webhooks.update(admin, w.id, { active: false });
    });

    it('sends only the subscribed types: an exact type and a family', async () => {
      const w = await hook('/filter', ['version.created', 'model.*']);
      const d = dispatcher();
      d.start();
      await moves('m2', 2);
      const h = createHash('sha256').update('w').digest('hex');
      await reg.versions.create(admin, 'brand-new', { files: [{ path: 'w', size: 1, sha256: h }] });
      await rx.waitFor(() => rx.on('/filter').length >= 2);
      await d.drain();
      assert.deepEqual(
        events('/filter')
          .map((e) => e.type)
          .sort(),
        ['model.created', 'version.created'],
      );
      assert.equal(events('/filter')[1]?.model, 'brand-new');
      await reg.webhooks.update(admin, w.id, { active: false });
    });

    it('retries with backoff on a 500, the same webhook-id each time, every attempt logged', async () => {
      const w = await hook('/flaky', ['alias.moved']);
      rx.answer('/flaky', [500, 503]);
      const d = dispatcher();
      d.start();
      const [seq] = await moves('m3', 1);
      await rx.waitFor(() => rx.on('/flaky').length >= 3);
      await d.drain();
      const calls = rx.on('/flaky');
      assert.deepEqual(
        calls.map((c) => c.headers['webhook-id']),
        [`evt_${seq}`, `evt_${seq}`, `evt_${seq}`],
      );
      assert.ok(calls.every((c) => c.signed));
      const [dl] = (await reg.webhooks.deliveries(admin, w.id, {})).items;
      assert.equal(dl?.state, 'delivered');
      assert.equal(dl?.attempts, 3);
      const detail = await reg.webhooks.delivery(admin, dl?.id as string);
      assert.deepEqual(
        detail.attempts_log?.map((a) => a.status),
        [500, 503, 200],
      );
      await reg.webhooks.update(admin, w.id, { active: false });
    });

    it('fails a delivery after the attempt cap, moves on to the next event, and a replay delivers it', async () => {
      const w = await hook('/down', ['alias.moved']);
      rx.answer('/down', [500, 500, 500]);
      const failures: string[] = [];
      const d = dispatcher({ maxAttempts: 3, onDeliveryFailure: (id) => failures.push(id) });
      d.start();
      const [first, second] = await moves('m4', 2);
      await rx.waitFor(() => rx.on('/down').length >= 4);
      await d.drain();
      assert.deepEqual(
        rx.on('/down').map((c) => c.headers['webhook-id']),
        [`evt_${first}`, `evt_${first}`, `evt_${first}`, `evt_${second}`],
      );
      assert.deepEqual(failures, [w.id]);
      const failed = (await reg.webhooks.deliveries(admin, w.id, { state: 'failed' })).items;
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.attempts, 3);
      assert.equal(failed[0]?.last_status, 500);
      assert.match(failed[0]?.last_error ?? '', /answered 500/);
      const again = await reg.webhooks.replay(admin, failed[0]?.id as string);
      assert.equal(again.state, 'pending');
      await rx.waitFor(() => rx.on('/down').length >= 5);
      await d.drain();
      assert.equal(rx.on('/down')[4]?.headers['webhook-id'], `evt_${first}`);
      assert.ok(rx.on('/down')[4]?.signed);
      assert.equal((await reg.webhooks.delivery(admin, again.id)).state, 'delivered');
      await reg.webhooks.update(admin, w.id, { active: false });
    });

    it('a receiver that hangs times out, is retried and logged; alias moves and other endpoints are unaffected', async () => {
      const slow = await hook('/hang', ['alias.moved']);
      await hook('/fine', ['alias.moved']);
      rx.answer('/hang', ['hang', 'hang']);
      const d = dispatcher({ attemptTimeoutMs: 300, maxAttempts: 5 });
      d.start();
      const t0 = performance.now();
      const seqs = await moves('m5', 5);
      const moveMs = performance.now() - t0;
      assert.ok(moveMs < 2000, `5 alias moves took ${moveMs} ms while a receiver hangs`);
      await rx.waitFor(() => rx.on('/fine').length >= 5);
      // The healthy endpoint got everything while the hanging one still waits on its first event.
      assert.ok(rx.on('/hang').length <= 2);
      await rx.waitFor(() => rx.on('/hang').length >= 7, 10_000);
      await d.drain();
      assert.deepEqual(
        [...new Set(rx.on('/hang').map((c) => c.headers['webhook-id']))],
        seqs.map((s) => `evt_${s}`),
      );
      const oldest = (await reg.webhooks.deliveries(admin, slow.id, { limit: 100 })).items.at(-1);
      assert.equal(oldest?.state, 'delivered');
      assert.equal(oldest?.attempts, 3);
      const log = await reg.webhooks.delivery(admin, oldest?.id as string);
      assert.match(log.attempts_log?.[0]?.error ?? '', /no answer within 300 ms/);
      assert.equal(log.attempts_log?.[0]?.status, null);
      for (const w of (await reg.webhooks.list(admin, { limit: 100 })).items) await reg.webhooks.update(admin, w.id, { active: false });
    });

    it('refuses a loopback target without allow_private: the delivery fails with the reason and how to allow it', async () => {
      const w = await hook('/ssrf', ['alias.moved']);
      const wl = await reg.webhooks.create(admin, { url: `${rx.url.replace('127.0.0.1', 'localhost')}/ssrf`, events: ['alias.moved'] });
      const d = dispatcher({ allowPrivate: false });
      d.start();
      await moves('m6', 1);
      for (const id of [w.id, wl.id]) {
        for (let i = 0; i < 100 && (await reg.webhooks.deliveries(admin, id, { state: 'failed' })).items.length === 0; i++) await d.drain();
        const [dl] = (await reg.webhooks.deliveries(admin, id, {})).items;
        assert.equal(dl?.state, 'failed');
        assert.equal(dl?.attempts, 1);
        assert.match(dl?.last_error ?? '', /refused .*(127\.0\.0\.1|localhost).*loopback.*BERTH_WEBHOOK_ALLOW_PRIVATE=1.*webhooks\.allow_private/);
      }
      assert.equal(rx.on('/ssrf').length, 0);
      await reg.webhooks.update(admin, w.id, { active: false });
      await reg.webhooks.update(admin, wl.id, { active: false });
    });

    it('a dispatcher stopped mid-way leaves the rest to the next one, which delivers it after a restart', async () => {
      await hook('/restart', ['alias.moved']);
      rx.answer('/restart', [200, 200, 200, 'hang']);
      const a = dispatcher({ attemptTimeoutMs: 5000 });
      a.start();
      const first = await moves('m7', 4);
      await rx.waitFor(() => rx.on('/restart').length >= 4);
      // The fourth call hangs: the server goes away in the middle of it and after more commits.
      await a.stop();
      const later = await moves('m7', 3);
      rx.answer('/restart', [], 200);
      // A second process on the same database (a restarted server).
      const other = await openStore(url);
      try {
        const b = dispatcher({}, other);
        b.start();
        await rx.waitFor(() => new Set(rx.on('/restart').map((c) => c.headers['webhook-id'])).size >= 7);
        await b.drain();
        await b.stop();
      } finally {
        await other.close();
      }
      const ids = rx.on('/restart').map((c) => c.headers['webhook-id']);
      // At least once: the call cut by the stop is sent again; nothing is lost; order holds.
      assert.deepEqual(
        [...new Set(ids)],
        [...first, ...later].map((s) => `evt_${s}`),
      );
      // The fourth was cut by the stop, so it is sent twice: once cut, once after the restart.
      assert.deepEqual(
        ids.slice(0, 5),
        [...first, first[3]].map((s) => `evt_${s}`),
      );
      for (const w of (await reg.webhooks.list(admin, { limit: 100 })).items) await reg.webhooks.update(admin, w.id, { active: false });
    });

    it('two servers on one database deliver each event once, in order (the lease), and a dead one’s lease expires', async () => {
      const w = await hook('/shared', ['alias.moved']);
      // A server that died holding the lease: nobody delivers until it expires.
      const now = Date.now();
      assert.ok(await store.read.webhooks.acquireLease(w.id, 'srv_dead', now, now + 400));
      const other = await openStore(url);
      try {
        const a = dispatcher({ leaseMs: 2000 });
        const b = dispatcher({ leaseMs: 2000 }, other);
        a.start();
        b.start();
        const seqs = await moves('m8', 12);
        await new Promise((r) => setTimeout(r, 150));
        assert.equal(rx.on('/shared').length, 0, 'nothing is sent while the dead server holds the lease');
        await rx.waitFor(() => rx.on('/shared').length >= 12);
        await a.drain();
        await b.drain();
        await b.stop();
        assert.deepEqual(
          rx.on('/shared').map((c) => c.headers['webhook-id']),
          seqs.map((s) => `evt_${s}`),
        );
      } finally {
        await other.close();
      }
    });
  });
}
