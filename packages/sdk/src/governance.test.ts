import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, evaluateGates, type Evaluation, type GateReport, type Policy, type Promotion } from '@berth/core';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock } from '@berth/server';
import { BerthClient } from './index.js';
import { nodeFetch } from './node.js';

/** The governance methods of BerthClient against the real server (buildApp() over SQLite on a loopback port). */
let client: BerthClient;
let approver: BerthClient;
let close: () => Promise<void>;

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sdk-gov-'));
  const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
  const blobs = await FsBlobStore.open(join(dir, 'blobs'));
  const app = await buildApp({ registry: new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = new BerthClient({ url, actor: 'ana', fetch: nodeFetch });
  approver = new BerthClient({ url, actor: 'bob', fetch: nodeFetch });
  close = async () => {
    await app.close();
    await blobs.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
});
after(() => close());

async function commit(name: string): Promise<number> {
  const text = `${name} ${Math.random()}`;
  const sha = createHash('sha256').update(text).digest('hex');
  const v = await client.createVersion(name, {
    files: [{ path: 'w.txt', size: text.length, sha256: sha }],
    blobs: [{ sha256: sha, base64: Buffer.from(text).toString('base64') }],
  });
  return v.version;
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const YAML = `policy: release
target_alias: champion
require_approvals: 0
gates:
  - { name: accuracy, metric: accuracy, min: 0.9 }
  - { name: no-regression, metric: accuracy, compare_to: champion }
`;

describe('BerthClient governance', () => {
  it('records and pages evaluations, applies and reads policies, and fetches the evidence the gates read', async () => {
    await commit('m1');
    await commit('m1');
    const e: Evaluation = await client.recordEvaluation('m1', 1, { metrics: { accuracy: 0.91 }, dataset: 'golden', source: 'ci' });
    await client.recordEvaluation('m1', 1, { metrics: { accuracy: 0.92 } });
    const listed = await all(client.iterEvaluations('m1', 1, 1));
    assert.deepEqual(
      listed.map((x) => x.metrics.accuracy),
      [0.92, 0.91],
      'newest first, across pages of one',
    );
    assert.equal(listed[1]?.id, e.id);

    const p: Policy = await client.applyPolicy('release', YAML);
    assert.deepEqual([p.version, p.unchanged], [1, false]);
    assert.equal((await client.applyPolicy('release', YAML)).unchanged, true);
    assert.equal((await client.getPolicy('release', { version: 1 })).digest, p.digest);
    assert.deepEqual(
      (await all(client.iterPolicies())).map((x) => x.name),
      ['release'],
    );

    await client.setAlias('m1', 'champion', 1);
    await client.recordEvaluation('m1', 2, { metrics: { accuracy: 0.95 } });
    const { policy, evidence } = await client.gateEvidence('m1', 2, { policy: 'release' });
    assert.equal(policy.name, 'release');
    assert.equal(evidence.aliases.champion?.version, 1);
    assert.equal(evaluateGates(policy.document, evidence).passed, true);
  });

  it('reads the newest metric values of a page of versions in one request, and the versions by a time', async () => {
    await commit('tbl');
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await commit('tbl');
    await client.recordEvaluation('tbl', 2, { metrics: { accuracy: 0.7 } });
    await client.recordEvaluation('tbl', 2, { metrics: { accuracy: 0.8, f1: 0.6 } });
    const rows = await client.latestMetrics('tbl', [2, 1]);
    assert.deepEqual(
      rows.map((r) => [r.version, r.metrics]),
      [
        [2, { accuracy: 0.8, f1: 0.6 }],
        [1, {}],
      ],
    );
    assert.deepEqual(
      (await client.latestMetrics('tbl', [2, 1], { at: before })).map((r) => r.version),
      [1],
    );
    assert.deepEqual(
      (await client.listVersions('tbl', { at: before })).items.map((v) => v.version),
      [1],
    );
    await assert.rejects(client.latestMetrics('tbl', []), (e: BerthError) => e.code === 'INVALID_ARGUMENT');
  });

  it('promotes, refuses with the report, waits for approval, and rolls back', async () => {
    await commit('m2');
    await commit('m2');
    await client.recordEvaluation('m2', 1, { metrics: { accuracy: 0.95 } });
    await client.recordEvaluation('m2', 2, { metrics: { accuracy: 0.8 } });
    await client.applyPolicy('release', YAML);
    const first: Promotion = await client.promote('m2', { version: 1, policy: 'release' });
    assert.deepEqual([first.state, first.alias], ['passed', 'champion']);

    await assert.rejects(client.promote('m2', { version: 2, policy: 'release', reason: 'try' }), (err: unknown) => {
      assert.ok(err instanceof BerthError);
      assert.equal(err.code, 'FAILED_PRECONDITION');
      const d = err.details as { promotion: string; report: GateReport };
      assert.match(d.promotion, /^prm_/);
      assert.equal(d.report.passed, false);
      return true;
    });
    const failed = await all(client.iterPromotions('m2', { state: 'failed' }));
    assert.equal(failed.length, 1);
    assert.equal((await client.getPromotion(failed[0]?.id ?? '')).report?.passed, false);
    await assert.rejects(client.promote('m2', { version: 1, policy: 'release', expect: 2 }), { code: 'CONFLICT' });

    await client.applyPolicy('release', YAML.replace('require_approvals: 0', 'require_approvals: 1'));
    await client.recordEvaluation('m2', 2, { metrics: { accuracy: 0.96 } });
    const pending = await client.promote('m2', { version: 2, policy: 'release' });
    assert.equal(pending.state, 'pending');
    const approved = await approver.approvePromotion(pending.id, 'looked at it');
    assert.deepEqual([approved.state, approved.approvals.map((a) => a.reason)], ['passed', ['looked at it']]);
    assert.equal((await client.resolve('m2@champion')).version, 2);

    const back = await client.rollback('m2', 'champion', 'regression');
    assert.deepEqual([back.kind, back.version, back.previous_version], ['rollback', 1, 2]);
    await assert.rejects(client.rollback('m2', 'champion', 'again', { expect: 2 }), { code: 'CONFLICT' });

    await client.recordEvaluation('m2', 2, { metrics: { accuracy: 0.97 } });
    const again = await client.promote('m2', { version: 2, policy: 'release' });
    assert.equal((await approver.rejectPromotion(again.id, 'not now')).state, 'rejected');
  });
});
