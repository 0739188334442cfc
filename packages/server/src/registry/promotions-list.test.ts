import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor, type Actor } from './actor.js';
import type { Store } from '../store/store.js';
import { FakeClock, expectCode } from '../../test-support/expect.js';

const admin = localActor('admin');
const ci: Actor = { name: 'ci', roles: new Set(['viewer', 'editor']), via: 'api' };
const reviewer: Actor = { name: 'reviewer', roles: new Set(['viewer', 'editor', 'approver']), via: 'api' };

const REVIEWED = `policy: reviewed
target_alias: champion
require_approvals: 1
gates:
  - { name: accuracy, metric: accuracy, min: 0.9 }
`;

for (const backend of BACKENDS) {
  describe(`promotions of every model on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let reg: Registry;
    let cleanup: () => Promise<void>;
    let n = 0;
    const ids: Record<string, string> = {};

    async function push(name: string): Promise<number> {
      n += 1;
      const content = Buffer.from(`weights ${n}`);
      const h = createHash('sha256').update(content).digest('hex');
      await reg.blobs.put(admin, h, Readable.from([content]));
      const v = await reg.versions.create(admin, name, { files: [{ path: 'w.bin', size: content.length, sha256: h }] });
      await reg.evaluations.record(admin, name, v.version, { metrics: { accuracy: 0.95 } });
      return v.version;
    }

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store, blobs, clock: new FakeClock(undefined, 1), config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
      await reg.policies.apply(admin, 'reviewed', REVIEWED);
      // Three models with a promotion each awaiting review, one of them decided afterwards.
      for (const model of ['alpha', 'beta', 'gamma']) {
        const v = await push(model);
        ids[model] = (await reg.promotions.request(ci, model, { version: v, policy: 'reviewed' })).id;
      }
      await reg.promotions.approve(reviewer, ids.beta as string, 'looks good');
      const v = await push('alpha');
      ids.staging = (await reg.promotions.request(ci, 'alpha', { version: v, alias: 'staging', policy: 'reviewed' })).id;
    });
    after(async () => cleanup?.());

    it('lists the pending promotions of every model newest first, with their model and approvals', async () => {
      const page = await reg.promotions.listAll({ state: 'pending' });
      assert.deepEqual(
        page.items.map((p) => [p.model, p.id, p.state]),
        [
          ['alpha', ids.staging, 'pending'],
          ['gamma', ids.gamma, 'pending'],
          ['alpha', ids.alpha, 'pending'],
        ],
      );
      assert.equal(page.next_cursor, null);
      const all = await reg.promotions.listAll({});
      assert.equal(all.items.length, 4);
      const beta = all.items.find((p) => p.id === ids.beta);
      assert.equal(beta?.state, 'passed');
      assert.deepEqual(
        beta?.approvals.map((a) => [a.by, a.reason]),
        [['reviewer', 'looks good']],
      );
    });

    it('pages by cursor without repeating or skipping, and filters by alias', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await reg.promotions.listAll({ state: 'pending', limit: 1, cursor });
        assert.ok(page.items.length <= 1);
        seen.push(...page.items.map((p) => p.id));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      assert.deepEqual(seen, [ids.staging, ids.gamma, ids.alpha]);
      const staging = await reg.promotions.listAll({ alias: 'staging' });
      assert.deepEqual(
        staging.items.map((p) => p.id),
        [ids.staging],
      );
    });

    it('refuses an unknown state, a bad alias, a bad cursor and a bad limit with INVALID_ARGUMENT', async () => {
      await expectCode(reg.promotions.listAll({ state: 'waiting' }), 'INVALID_ARGUMENT', /use one of passed, failed, pending/);
      await expectCode(reg.promotions.listAll({ alias: 'v3' }), 'INVALID_ARGUMENT');
      await expectCode(reg.promotions.listAll({ cursor: 'not-a-cursor' }), 'INVALID_ARGUMENT');
      await expectCode(reg.promotions.listAll({ limit: 0 }), 'INVALID_ARGUMENT');
    });
  });
}
