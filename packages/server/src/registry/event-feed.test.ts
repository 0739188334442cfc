import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BerthEvent } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { openStore, type Store } from '../store/store.js';
import { EventFeed, listEvents, type FeedFollower, type FeedItem } from './event-feed.js';

function event(seq: number, type = 'alias.moved', model: string | null = 'm'): BerthEvent {
  return { seq, type, timestamp: new Date().toISOString(), actor: 'a', model, subject: `${model}@x`, reason: null, data: {} };
}

async function append(store: Store, events: BerthEvent[]): Promise<void> {
  await store.transaction(async (tx) => {
    for (const e of events) await tx.events.append(e, Date.now());
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A follower that records what it is handed. */
function recorder(filter: FeedFollower['filter'] = {}): FeedFollower & { seqs: number[]; wasDropped: boolean; until(n: number, ms?: number): Promise<void> } {
  const r = {
    filter,
    seqs: [] as number[],
    wasDropped: false,
    send(items: readonly FeedItem[]) {
      for (const i of items) r.seqs.push(i.record.seq);
      return true;
    },
    dropped() {
      r.wasDropped = true;
    },
    ready: async () => true,
    async until(n: number, ms = 5000) {
      const deadline = Date.now() + ms;
      while (r.seqs.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out with ${r.seqs.length} of ${n}: ${r.seqs.join(',')}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    },
  };
  return r;
}

for (const backend of BACKENDS) {
  describe(`EventFeed on ${backend.name}`, { skip: backend.unavailable }, () => {
    it('hands a backlog then live events, each once in order, while events commit during the join', async () => {
      const { store, cleanup } = await backend.open();
      const feed = new EventFeed(store, 50);
      try {
        await append(
          store,
          range(1, 1500).map((s) => event(s)),
        );
        const early = recorder();
        const leaveEarly = await feed.follow(0, early);
        // A second follower joins from the start while 100 more commit one by one.
        const late = recorder();
        const writing = (async () => {
          for (const s of range(1501, 1600)) await append(store, [event(s)]);
        })();
        const leaveLate = await feed.follow(0, late);
        await writing;
        await early.until(1600);
        await late.until(1600);
        assert.deepEqual(early.seqs, range(1, 1600));
        assert.deepEqual(late.seqs, range(1, 1600));
        leaveEarly();
        leaveLate();
        assert.equal(feed.size, 0);
      } finally {
        feed.close();
        await cleanup();
      }
    });

    it("sees another server's commits by polling, and filters by type and model", async () => {
      const { store, url, cleanup } = await backend.open();
      const other = await openStore(url);
      const feed = new EventFeed(store, 100);
      try {
        const all = recorder();
        const some = recorder({ types: ['version.*'], model: 'm' });
        await feed.follow(0, all);
        await feed.follow(0, some);
        // Committed through another store: this process's onCommit never fires for it.
        await append(other, [event(1), event(2, 'version.created'), event(3, 'version.created', 'n'), event(4, 'model.created')]);
        await all.until(4, 3000);
        await some.until(1);
        await new Promise((r) => setTimeout(r, 150));
        assert.deepEqual(all.seqs, [1, 2, 3, 4]);
        assert.deepEqual(some.seqs, [2]);
      } finally {
        feed.close();
        await other.close();
        await cleanup();
      }
    });
  });
}

describe('EventFeed', () => {
  it('lets go of a follower whose send refuses, and of every follower on close, telling each', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    const feed = new EventFeed(store, 50);
    try {
      const refusing = { ...recorder(), send: () => false };
      const kept = recorder();
      await feed.follow(0, refusing);
      await feed.follow(0, kept);
      await append(store, [event(1)]);
      await kept.until(1);
      assert.equal(feed.size, 1);
      feed.close();
      assert.equal(kept.wasDropped, true);
      assert.equal(feed.size, 0);
    } finally {
      await cleanup();
    }
  });

  it('stops sending a backlog to a follower that is not ready for more', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    const feed = new EventFeed(store, 50);
    try {
      await append(
        store,
        range(1, 2500).map((s) => event(s)),
      );
      const slow = { ...recorder(), ready: async () => false };
      await feed.follow(0, slow);
      assert.equal(slow.seqs.length, 1000);
      assert.equal(feed.size, 0);
    } finally {
      await cleanup();
    }
  });

  it('pages with a filter, scanning past events it does not want', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    try {
      await append(store, [...range(1, 1500).map((s) => event(s)), event(1501, 'version.created'), event(1502, 'version.created')]);
      const page = await listEvents(store, { after: 0, limit: 1, types: ['version.created'] });
      assert.deepEqual(
        page.items.map((e) => e.seq),
        [1501],
      );
      assert.equal(page.next_cursor, '1501');
      const rest = await listEvents(store, { after: 1501, limit: 10, types: ['version.created'] });
      assert.deepEqual(
        rest.items.map((e) => e.seq),
        [1502],
      );
      assert.equal(rest.next_cursor, null);
      const plain = await listEvents(store, { after: 1500, limit: 2 });
      assert.deepEqual([plain.items.map((e) => e.seq), plain.next_cursor], [[1501, 1502], '1502']);
    } finally {
      await cleanup();
    }
  });
});
