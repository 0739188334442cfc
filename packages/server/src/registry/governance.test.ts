import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BerthError } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor, type Actor } from './actor.js';
import type { Store } from '../store/store.js';
import { FakeClock, expectCode } from '../../test-support/expect.js';

const admin = localActor('admin');
const ci: Actor = { name: 'ci', roles: new Set(['viewer', 'editor']), via: 'api' };
const scopedCi: Actor = { name: 'ci-scoped', roles: new Set(['viewer', 'editor']), via: 'api', scopes: ['other*'] };
const alice: Actor = { name: 'alice', roles: new Set(['viewer', 'editor', 'approver']), via: 'api' };
const bob: Actor = { name: 'bob', roles: new Set(['viewer', 'editor', 'approver']), via: 'api' };

const POLICY = `policy: gate
target_alias: champion
gates:
  - { name: accuracy, metric: accuracy, min: 0.9 }
  - { name: val, metric: run:val_accuracy, min: 0.8 }
  - { name: no-regression, metric: accuracy, compare_to: champion, max_drop: 0.01 }
`;

for (const backend of BACKENDS) {
  describe(`governance on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let reg: Registry;
    let cleanup: () => Promise<void>;
    let n = 0;

    async function push(name: string, runId?: string): Promise<number> {
      n += 1;
      const content = Buffer.from(`weights ${n}`);
      const h = createHash('sha256').update(content).digest('hex');
      await reg.blobs.put(admin, h, Readable.from([content]));
      const v = await reg.versions.create(admin, name, { files: [{ path: 'w.bin', size: content.length, sha256: h }], ...(runId ? { run_id: runId } : {}) });
      return v.version;
    }

    async function holder(name: string, alias: string): Promise<number | null> {
      return (await reg.aliases.list(name)).find((a) => a.alias === alias)?.version ?? null;
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
      await reg.policies.apply(admin, 'gate', POLICY);
    });
    after(async () => cleanup?.());

    it('keeps roles: evaluations need editor on the model, policies admin, approvals approver', async () => {
      const v = await push('roles');
      await expectCode(reg.evaluations.record(scopedCi, 'roles', v, { metrics: { accuracy: 1 } }), 'PERMISSION_DENIED', /outside the models/);
      await expectCode(reg.policies.apply(ci, 'x', 'policy: x\ntarget_alias: a\ngates: []\n'), 'PERMISSION_DENIED', /admin/);
      await expectCode(reg.promotions.request(scopedCi, 'roles', { version: v, policy: 'gate' }), 'PERMISSION_DENIED');
      await expectCode(reg.promotions.rollback(ci, 'roles', 'champion', { reason: 'r' }), 'PERMISSION_DENIED', /approver/);
      assert.equal((await reg.evaluations.list('roles', v, {})).items.length, 0);
    });

    it('promotes on evaluations and source-run metrics; an editor may move a protected alias only this way', async () => {
      const run = await reg.runs.create(admin, { experiment: 'training' });
      await reg.runs.log(admin, run.run.id, { metrics: [{ key: 'val_accuracy', value: 0.85 }] });
      const v = await push('promo', run.run.id);
      await reg.evaluations.record(ci, 'promo', v, { metrics: { accuracy: 0.95 }, dataset: 'golden@sha256:abc' });
      await expectCode(reg.aliases.set(ci, 'promo', 'champion', { version: v }), 'PERMISSION_DENIED', /approver/);
      const p = await reg.promotions.request(ci, 'promo', { version: v, policy: 'gate' });
      assert.equal(p.state, 'passed');
      assert.equal(p.report?.gates[1]?.observed, 0.85);
      assert.equal(await holder('promo', 'champion'), v);
      const audit = await store.read.audit.list({ limit: 1000 });
      const move = audit.filter((e) => e.action === 'alias.set' && e.subject === 'promo@champion').at(-1);
      assert.deepEqual(move?.after, { version: v, promotion: p.id });
      assert.equal(move?.actor, 'ci');
      assert.match(move?.reason ?? '', new RegExp(`promotion ${p.id} under policy gate v1`));
    });

    it('the newest evaluation of a metric wins over older ones', async () => {
      const run = await reg.runs.create(admin, { experiment: 'training' });
      await reg.runs.log(admin, run.run.id, { metrics: [{ key: 'val_accuracy', value: 0.9 }] });
      const v = await push('promo', run.run.id);
      await reg.evaluations.record(ci, 'promo', v, { metrics: { accuracy: 0.99 } });
      await reg.evaluations.record(ci, 'promo', v, { metrics: { accuracy: 0.5 } });
      const err = await expectCode(reg.promotions.request(ci, 'promo', { version: v, policy: 'gate' }), 'FAILED_PRECONDITION', /accuracy 0\.50 >= 0\.90 FAIL/);
      const stored = await reg.promotions.get(err.details.promotion as string);
      assert.equal(stored.state, 'failed');
      assert.equal(stored.report?.gates[0]?.observed, 0.5);
    });

    it('lets exactly one of several concurrent promotions from the same holder win', async () => {
      const from = (await holder('promo', 'champion')) as number;
      const candidates: number[] = [];
      for (let i = 0; i < 4; i++) {
        const run = await reg.runs.create(admin, { experiment: 'training' });
        await reg.runs.log(admin, run.run.id, { metrics: [{ key: 'val_accuracy', value: 0.9 }] });
        const v = await push('promo', run.run.id);
        await reg.evaluations.record(ci, 'promo', v, { metrics: { accuracy: 0.96 } });
        candidates.push(v);
      }
      const results = await Promise.allSettled(candidates.map((version) => reg.promotions.request(ci, 'promo', { version, policy: 'gate', expect: from })));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      const winner = (won[0] as PromiseFulfilledResult<{ version: number }>).value.version;
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.equal((r.reason as BerthError).code, 'CONFLICT');
          assert.match((r.reason as BerthError).message, new RegExp(`champion is at ${winner} now`));
        }
      }
      assert.equal(await holder('promo', 'champion'), winner);
    });

    it('approvals are distinct, audited, and the last one moves the alias', async () => {
      await reg.policies.apply(admin, 'reviewed', 'policy: reviewed\ntarget_alias: production\nrequire_approvals: 2\ngates: []\n');
      const v = await push('reviewed');
      const p = await reg.promotions.request(ci, 'reviewed', { version: v, policy: 'reviewed', reason: 'ship it' });
      assert.equal(p.state, 'pending');
      await expectCode(reg.promotions.approve(ci, p.id), 'PERMISSION_DENIED', /approver/);
      await reg.promotions.approve(alice, p.id, 'looked at it');
      await expectCode(reg.promotions.approve(alice, p.id), 'ALREADY_EXISTS');
      const done = await reg.promotions.approve(bob, p.id);
      assert.equal(done.state, 'passed');
      assert.deepEqual(
        done.approvals.map((a) => a.by),
        ['alice', 'bob'],
      );
      assert.equal(await holder('reviewed', 'production'), v);
      const history = await reg.aliases.history('reviewed', 'production', {});
      assert.equal(history.items.at(-1)?.reason, 'ship it');
      const listed = await reg.promotions.list('reviewed', { state: 'passed' });
      assert.deepEqual(
        listed.items.map((i) => i.id),
        [p.id],
      );
    });

    it('concurrent approvals of one promotion: the last one counts every approval and moves the alias once', async () => {
      const v = await push('reviewed');
      const p = await reg.promotions.request(ci, 'reviewed', { version: v, policy: 'reviewed' });
      const results = await Promise.all([reg.promotions.approve(alice, p.id), reg.promotions.approve(bob, p.id)]);
      assert.deepEqual(results.map((r) => r.state).sort(), ['passed', 'pending']);
      const done = await reg.promotions.get(p.id);
      assert.equal(done.state, 'passed');
      assert.equal(done.approvals.length, 2);
      assert.equal(await holder('reviewed', 'production'), v);
      const moves = (await reg.aliases.history('reviewed', 'production', {})).items.filter((h) => h.to_version === v);
      assert.equal(moves.length, 1);
    });

    it('a bound alias set through any front is a promotion; the binding refuses a second policy on the same model and alias', async () => {
      await reg.policies.apply(
        admin,
        'bound',
        'policy: bound\ntarget_alias: champion\nmodels: ["svc-*"]\ngates:\n  - { name: accuracy, metric: accuracy, min: 0.9 }\n',
      );
      await expectCode(
        reg.policies.apply(admin, 'bound-too', 'policy: bound-too\ntarget_alias: champion\nmodels: [svc-a]\ngates: []\n'),
        'CONFLICT',
        /policy bound already binds champion/,
      );
      const v = await push('svc-a');
      await expectCode(reg.aliases.set(admin, 'svc-a', 'champion', { version: v }), 'FAILED_PRECONDITION', /no evaluation of metric accuracy/);
      assert.equal(await holder('svc-a', 'champion'), null);
      await reg.evaluations.record(ci, 'svc-a', v, { metrics: { accuracy: 0.91 } });
      const a = await reg.aliases.set(ci, 'svc-a', 'champion', { version: v });
      assert.equal(a.version, v);
      assert.equal((await reg.promotions.list('svc-a', {})).items[0]?.state, 'passed');
      // Unbound aliases of the same model move as before.
      assert.equal((await reg.aliases.set(ci, 'svc-a', 'candidate', { version: v })).version, v);
    });

    it('rollback moves back to the previous holder as a promotion of kind rollback', async () => {
      const v1 = await push('rollback');
      const v2 = await push('rollback');
      await reg.aliases.set(admin, 'rollback', 'champion', { version: v1, reason: 'first' });
      await reg.aliases.set(admin, 'rollback', 'champion', { version: v2, reason: 'second' });
      const p = await reg.promotions.rollback(alice, 'rollback', 'champion', { reason: 'quality regression' });
      assert.equal(p.kind, 'rollback');
      assert.equal(p.version, v1);
      assert.equal(await holder('rollback', 'champion'), v1);
      await expectCode(reg.promotions.rollback(alice, 'rollback', 'champion', { reason: '  ' }), 'INVALID_ARGUMENT', /needs a reason/);
    });
  });
}
