import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BACKENDS } from '../../test-support/backends.js';
import { FakeClock } from '../../test-support/expect.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor } from './actor.js';

const admin = localActor('local:tester');
const sha = (b: string) => createHash('sha256').update(b).digest('hex');
const T0 = Date.parse('2026-03-08T10:00:00Z');
const HOUR = 3_600_000;

for (const backend of BACKENDS) {
  describe(`the versions table reads on ${backend.name}`, { skip: backend.unavailable }, () => {
    let reg: Registry;
    let cleanup: () => Promise<void>;
    const clock = new FakeClock(T0);

    before(async () => {
      const opened = await backend.open();
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store: opened.store, blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
      for (let v = 1; v <= 5; v++) {
        clock.t = T0 + (v - 1) * HOUR;
        const c = `weights ${v}`;
        await reg.versions.create(admin, 'chatbot', {
          files: [{ path: 'model.bin', size: c.length, sha256: sha(c) }],
          blobs: [{ sha256: sha(c), base64: Buffer.from(c).toString('base64') }],
        });
        await reg.evaluations.record(admin, 'chatbot', v, { metrics: { accuracy: v / 10 } });
      }
      clock.t = T0 + 10 * HOUR;
      await reg.evaluations.record(admin, 'chatbot', 2, { metrics: { accuracy: 0.99, f1: 0.5 } });
    });
    after(async () => cleanup?.());

    it('pages the versions created by a time, newest first', async () => {
      const at = new Date(T0 + 2 * HOUR).toISOString();
      const p1 = await reg.versions.list('chatbot', { limit: 2, at });
      assert.deepEqual(
        p1.items.map((v) => v.version),
        [3, 2],
      );
      const p2 = await reg.versions.list('chatbot', { limit: 2, at, cursor: p1.next_cursor ?? undefined });
      assert.deepEqual([p2.items.map((v) => v.version), p2.next_cursor], [[1], null]);
    });

    it('answers the newest metric values of a page of versions, now and as recorded by a time', async () => {
      const now = await reg.evaluations.latestMetrics('chatbot', '5,2,1');
      assert.deepEqual(
        now.map((r) => [r.version, r.metrics]),
        [
          [5, { accuracy: 0.5 }],
          [2, { accuracy: 0.99, f1: 0.5 }],
          [1, { accuracy: 0.1 }],
        ],
      );
      const then = await reg.evaluations.latestMetrics('chatbot', '5,2,1', { at: new Date(T0 + 2 * HOUR).toISOString() });
      assert.deepEqual(
        then.map((r) => [r.version, r.metrics, r.recorded_at]),
        [
          [2, { accuracy: 0.2 }, T0 + HOUR],
          [1, { accuracy: 0.1 }, T0],
        ],
      );
    });
  });
}
