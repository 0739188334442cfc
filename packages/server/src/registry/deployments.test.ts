import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BerthError, RolloutDecisionBody, ServedReportBody } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor, type Actor } from './actor.js';
import type { Store } from '../store/store.js';
import type { RolloutRecord } from '../store/deployments.js';
import { FakeClock, expectCode } from '../../test-support/expect.js';

const admin = localActor('admin');
const gw: Actor = { name: 'gateway-token', roles: new Set(['viewer', 'editor', 'approver']), via: 'api' };
const editor: Actor = { name: 'ed', roles: new Set(['viewer', 'editor']), via: 'api' };

interface DocOpts {
  name: string;
  model: string;
  strategy?: string;
  candidate?: string | null;
  steps?: string;
  versions?: string;
  extra?: string;
}

function deploymentYaml(o: DocOpts): string {
  const strategy = o.strategy ?? 'canary';
  const lines = [`deployment: ${o.name}`, `model: ${o.model}`, `strategy: ${strategy}`, 'stable: champion'];
  const candidate = o.candidate === undefined ? (strategy === 'single' ? null : 'challenger') : o.candidate;
  if (candidate !== null) lines.push(`candidate: ${candidate}`);
  if (strategy === 'canary') lines.push(`steps: ${o.steps ?? '[{weight: 10, pause: 1s}, {weight: 50, pause: 1s}, {weight: 100}]'}`);
  lines.push('upstreams:', `  - {versions: ${o.versions ?? '"*"'}, url: "http://127.0.0.1:9/v1"}`);
  if (o.extra) lines.push(o.extra);
  return `${lines.join('\n')}\n`;
}

for (const backend of BACKENDS) {
  describe(`deployments on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let reg: Registry;
    let clock: FakeClock;
    let cleanup: () => Promise<void>;
    let n = 0;

    async function push(name: string, files: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<number> {
      n += 1;
      const entries = Object.keys(files).length ? files : { 'w.bin': `weights ${n}` };
      const manifest = [];
      for (const [path, text] of Object.entries(entries)) {
        const content = Buffer.from(text);
        const h = createHash('sha256').update(content).digest('hex');
        await reg.blobs.put(admin, h, Readable.from([content]));
        manifest.push({ path, size: content.length, sha256: h });
      }
      return (await reg.versions.create(admin, name, { files: manifest, ...extra })).version;
    }

    /** A model with versions 1..count, champion on 1 and challenger on 2 (when asked). */
    async function model(name: string, opts: { count?: number; challenger?: boolean } = {}): Promise<number[]> {
      const vs: number[] = [];
      for (let i = 0; i < (opts.count ?? 3); i++) vs.push(await push(name));
      await reg.aliases.set(admin, name, 'champion', { version: vs[0] as number });
      if (opts.challenger !== false) await reg.aliases.set(admin, name, 'challenger', { version: vs[1] as number });
      return vs;
    }

    async function holder(name: string, alias: string): Promise<number | null> {
      return (await reg.aliases.list(name)).find((a) => a.alias === alias)?.version ?? null;
    }

    async function auditCount(): Promise<number> {
      return (await store.read.audit.head()).seq;
    }

    async function actions(subject: string): Promise<string[]> {
      return (await store.read.audit.list({ limit: 10000 })).filter((e) => e.subject === subject).map((e) => e.action);
    }

    function start(candidate: number, kind: 'canary' | 'blue-green' | 'bake' = 'canary', gateway = 'g1'): RolloutDecisionBody {
      return { decision: 'start', kind, candidate_version: candidate, gateway };
    }

    function next(r: RolloutRecord, decision: RolloutDecisionBody['decision'], extra: Partial<RolloutDecisionBody> = {}): RolloutDecisionBody {
      return { decision, rollout_id: r.id, expect_step: r.step, candidate_version: r.candidate_version, gateway: 'g1', ...extra };
    }

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      clock = new FakeClock(undefined, 1);
      reg = new Registry({ store, blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
    });
    after(async () => cleanup?.());

    it('stores versions of a deployment, answers unchanged for the same document, and files its events under the model', async () => {
      await model('apply-bot');
      const yaml = deploymentYaml({ name: 'apply', model: 'apply-bot' });
      const v1 = await reg.deployments.apply(gw, yaml);
      assert.deepEqual(
        [v1.name, v1.version, v1.model, v1.unchanged, v1.document.strategy, v1.document.steps.length],
        ['apply', 1, 'apply-bot', false, 'canary', 3],
      );
      assert.match(v1.digest, /^sha256:[0-9a-f]{64}$/);
      const again = await reg.deployments.apply(gw, `# a comment changes nothing\n${yaml}`);
      assert.deepEqual([again.version, again.unchanged], [1, true]);
      const v2 = await reg.deployments.apply(gw, deploymentYaml({ name: 'apply', model: 'apply-bot', extra: 'bake: 5m' }));
      assert.deepEqual([v2.version, v2.document.bake_ms], [2, 300000]);
      assert.equal((await reg.deployments.get('apply')).version, 2);
      assert.equal((await reg.deployments.get('apply', 1)).document.bake_ms, 0);
      await expectCode(reg.deployments.get('apply', 7), 'NOT_FOUND', /no version 7/);
      await expectCode(reg.deployments.get('nope'), 'NOT_FOUND', /deployment "nope" not found/);
      await expectCode(reg.deployments.get('bad name!'), 'INVALID_ARGUMENT', /invalid deployment name/);
      const listed = await reg.deployments.list({});
      assert.ok(listed.items.some((d) => d.name === 'apply' && d.version === 2));
      const events = (await store.read.audit.list({ limit: 10000 })).filter((e) => e.subject === 'apply');
      assert.deepEqual(
        events.map((e) => [e.action, e.subject_type, e.model, e.actor]),
        [
          ['deployment.applied', 'deployment', 'apply-bot', 'gateway-token'],
          ['deployment.applied', 'deployment', 'apply-bot', 'gateway-token'],
        ],
      );
      const outbox = await store.read.events.after(0, 100000);
      const last = outbox.filter((e) => e.type === 'deployment.applied').at(-1);
      assert.equal(last?.model, 'apply-bot');
      assert.equal((last?.event.data as { deployment: string } | undefined)?.deployment, 'apply');
    });

    it('refuses a document the registry cannot serve, changing nothing', async () => {
      const vs = await model('check-bot');
      const ext = (await reg.versions.create(admin, 'check-bot', { files: [], external_uri: 's3://bucket/model' })).version;
      const before = await auditCount();
      const refuse = (o: Partial<DocOpts>, code: string, match: RegExp) =>
        expectCode(reg.deployments.apply(gw, deploymentYaml({ name: 'check', model: 'check-bot', ...o })), code, match);
      await expectCode(reg.deployments.apply(gw, 'deployment: [unclosed'), 'INVALID_ARGUMENT');
      await refuse({ model: 'missing-bot' }, 'NOT_FOUND', /model "missing-bot" not found/);
      await refuse({ versions: `[${vs[0]}, 99]` }, 'NOT_FOUND', /^check-bot:99 does not exist/);
      await refuse({ versions: `[${vs[1]}]` }, 'FAILED_PRECONDITION', new RegExp(`^no upstream serves check-bot:${vs[0]}: add its number or "\\*"`));
      await refuse(
        { strategy: 'ab', candidate: 'nobody', extra: 'ab: {split: 50, key: header:x-user}' },
        'FAILED_PRECONDITION',
        /^check-bot@nobody is not set: set it or drop/,
      );
      await refuse(
        { strategy: 'ab', candidate: null, extra: 'ab: {weights: {champion: 50, ghost: 50}, key: "body:user"}' },
        'FAILED_PRECONDITION',
        /check-bot@ghost is not set: set it or drop it from ab.weights/,
      );
      await refuse({ extra: 'judge: {url: "http://127.0.0.1:9/v1", model: j, rubric: "rubric:3"}' }, 'NOT_FOUND', /judge.rubric rubric:3 does not exist/);
      await reg.aliases.set(admin, 'check-bot', 'challenger', { version: ext });
      const err = await refuse({}, 'FAILED_PRECONDITION', /is an external version/);
      assert.match(err.message, /unpinned/);
      assert.equal(err.details.content_addressed, false);
      await expectCode(reg.deployments.apply(editor, deploymentYaml({ name: 'check', model: 'check-bot' })), 'PERMISSION_DENIED', /approver/);
      assert.equal(await auditCount(), before + 1, 'only the alias move was recorded');
      await expectCode(reg.deployments.get('check'), 'NOT_FOUND');
    });

    it('lets the candidate of a canary wait unset, but not the stable alias', async () => {
      await model('wait-bot', { challenger: false });
      const d = await reg.deployments.apply(gw, deploymentYaml({ name: 'wait', model: 'wait-bot' }));
      assert.equal(d.version, 1);
      await reg.aliases.delete(admin, 'wait-bot', 'champion');
      await expectCode(
        reg.deployments.apply(gw, deploymentYaml({ name: 'wait', model: 'wait-bot', extra: 'bake: 1m' })),
        'FAILED_PRECONDITION',
        /^wait-bot@champion is not set: set it first/,
      );
    });

    it('refuses a version that is not a bundle for a bundle model, and a rubric that is not a prompt', async () => {
      const base = await reg.versions.get('base-bot', await push('base-bot'));
      const pins = { dependencies: [{ model: 'base-bot', version: base.version, digest: base.digest }] };
      await reg.models.create(admin, { name: 'bundle-bot', kind: 'bundle' });
      const plain = await push('bundle-bot', { 'notes.txt': 'no manifest' }, pins);
      await reg.aliases.set(admin, 'bundle-bot', 'champion', { version: plain });
      const bundleYaml = deploymentYaml({ name: 'bun', model: 'bundle-bot', strategy: 'single' });
      await expectCode(
        reg.deployments.apply(gw, bundleYaml),
        'FAILED_PRECONDITION',
        new RegExp(`^bundle-bot:${plain} is not a bundle version: it has no berth-bundle.json`),
      );
      const bundled = await push('bundle-bot', { 'berth-bundle.json': '{"format": 1}' }, pins);
      await reg.aliases.set(admin, 'bundle-bot', 'champion', { version: bundled });
      assert.equal((await reg.deployments.apply(gw, bundleYaml)).version, 1);
      await model('rubric-bot');
      const r = await push('not-a-prompt');
      await expectCode(
        reg.deployments.apply(
          gw,
          deploymentYaml({ name: 'rub', model: 'rubric-bot', extra: `judge: {url: "http://127.0.0.1:9/v1", model: j, rubric: "not-a-prompt:${r}"}` }),
        ),
        'FAILED_PRECONDITION',
        /is a model, not a prompt/,
      );
    });

    it('reads a routing snapshot at the event head: aliases, their versions with files, and the rollout', async () => {
      const vs = await model('route-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'route', model: 'route-bot' }));
      const snap = await reg.deployments.routing('route');
      assert.equal(snap.seq, await auditCount());
      assert.deepEqual(snap.aliases, { champion: vs[0], challenger: vs[1] });
      assert.deepEqual(
        snap.versions.map((v) => [v.version, v.kind, v.content_addressed, v.files.map((f) => f.path)]),
        [
          [vs[0], 'model', true, ['w.bin']],
          [vs[1], 'model', true, ['w.bin']],
        ],
      );
      assert.equal(snap.rollout, null);
      const r = await reg.deployments.decide(gw, 'route', { ...start(vs[2] as number), stable_version: vs[0] });
      const after = await reg.deployments.routing('route');
      assert.equal(after.rollout?.id, r.id);
      assert.deepEqual(
        after.versions.map((v) => v.version),
        vs,
        'the rollout candidate is in the snapshot too',
      );
      assert.ok(after.seq > snap.seq);
    });

    it('starts a canary at its first weight, refuses a second start of it, advances, and holds once per step', async () => {
      const vs = await model('canary-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'canary', model: 'canary-bot' }));
      const r0 = await reg.deployments.decide(gw, 'canary', start(vs[1] as number));
      assert.deepEqual([r0.kind, r0.state, r0.step, r0.weight, r0.stable_version, r0.candidate_version], ['canary', 'progressing', 0, 10, vs[0], vs[1]]);
      assert.equal(r0.last_decision?.gateway, 'g1');
      const dup = await expectCode(reg.deployments.decide(gw, 'canary', start(vs[1] as number, 'canary', 'g2')), 'CONFLICT', /already has a canary rollout/);
      assert.equal((dup.details.rollout as { id: string }).id, r0.id);
      await expectCode(
        reg.deployments.decide(gw, 'canary', start(vs[1] as number, 'blue-green')),
        'FAILED_PRECONDITION',
        /is canary: a blue-green rollout is not for it/,
      );
      await expectCode(reg.deployments.decide(gw, 'canary', start(vs[1] as number, 'bake')), 'FAILED_PRECONDITION', /has no bake/);
      await expectCode(reg.deployments.decide(gw, 'canary', start(99)), 'NOT_FOUND', /canary-bot:99/);
      await expectCode(
        reg.deployments.decide(gw, 'canary', { decision: 'start', candidate_version: vs[1] as number, gateway: 'g1' }),
        'INVALID_ARGUMENT',
        /start needs kind/,
      );
      await expectCode(
        reg.deployments.decide(gw, 'canary', { decision: 'advance', candidate_version: vs[1] as number, gateway: 'g1' }),
        'INVALID_ARGUMENT',
        /needs rollout_id/,
      );
      await expectCode(reg.deployments.decide(editor, 'canary', next(r0, 'advance')), 'PERMISSION_DENIED', /approver/);
      const held = await reg.deployments.decide(gw, 'canary', next(r0, 'hold', { evidence: { slos: { verdict: 'inconclusive' } } }));
      assert.equal(held.state, 'held');
      const heldAgain = await reg.deployments.decide(gw, 'canary', next(held, 'hold'));
      assert.deepEqual(heldAgain, held);
      const r1 = await reg.deployments.decide(gw, 'canary', next(held, 'advance'));
      assert.deepEqual([r1.state, r1.step, r1.weight], ['progressing', 1, 50]);
      await expectCode(reg.deployments.decide(gw, 'canary', next(r0, 'advance')), 'CONFLICT', /another decision came first/);
      const r2 = await reg.deployments.decide(gw, 'canary', next(r1, 'advance'));
      await expectCode(reg.deployments.decide(gw, 'canary', next(r2, 'advance')), 'FAILED_PRECONDITION', /is the last of canary's canary: complete it/);
      assert.deepEqual(await actions('canary'), [
        'deployment.applied',
        'deployment.rollout_started',
        'deployment.held',
        'deployment.step_advanced',
        'deployment.step_advanced',
      ]);
      const ev = (await store.read.events.after(0, 100000)).filter((e) => e.type === 'deployment.held').at(-1);
      assert.deepEqual(Object.keys(ev?.event.data ?? {}).sort(), ['after', 'before', 'decision', 'deployment', 'evidence', 'gateway', 'rollout']);
      assert.deepEqual(ev?.event.data.evidence, { slos: { verdict: 'inconclusive' } });
    });

    it('lets exactly one of two concurrent decisions on one step land', async () => {
      const vs = await model('race-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'race', model: 'race-bot' }));
      const r0 = await reg.deployments.decide(gw, 'race', start(vs[1] as number));
      const results = await Promise.allSettled([
        reg.deployments.decide(gw, 'race', next(r0, 'advance', { gateway: 'g1' })),
        reg.deployments.decide(gw, 'race', next(r0, 'abort', { gateway: 'g2', reason: 'error rate' })),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      const err = (lost[0] as PromiseRejectedResult).reason as BerthError;
      assert.equal(err.code, 'CONFLICT');
      const winner = (won[0] as PromiseFulfilledResult<RolloutRecord>).value;
      assert.equal((err.details.rollout as { state: string }).state, winner.state);
      const starts = await reg.deployments.decide(gw, 'race', start(vs[2] as number));
      assert.equal(starts.candidate_version, vs[2], 'a finished or other rollout is replaced by a new start');
    });

    it('lets several gateways that saw the same alias move start one rollout', async () => {
      const vs = await model('starts-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'starts', model: 'starts-bot' }));
      const results = await Promise.allSettled(['g1', 'g2', 'g3'].map((g) => reg.deployments.decide(gw, 'starts', start(vs[1] as number, 'canary', g))));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      const winner = (won[0] as PromiseFulfilledResult<RolloutRecord>).value;
      for (const r of results.filter((x) => x.status === 'rejected')) {
        const err = (r as PromiseRejectedResult).reason as BerthError;
        assert.equal(err.code, 'CONFLICT');
        assert.equal((err.details.rollout as { id: string }).id, winner.id);
      }
      assert.equal((await actions('starts')).filter((a) => a === 'deployment.rollout_started').length, 1);
    });

    it('aborts a canary: weight 0 and the candidate alias rolled back through an audited rollback', async () => {
      const vs = await model('abort-bot');
      await reg.aliases.set(admin, 'abort-bot', 'challenger', { version: vs[2] as number });
      await reg.deployments.apply(gw, deploymentYaml({ name: 'abort', model: 'abort-bot' }));
      const r0 = await reg.deployments.decide(gw, 'abort', start(vs[2] as number));
      const aborted = await reg.deployments.decide(gw, 'abort', next(r0, 'abort', { reason: 'quality 0.4 < 0.7', evidence: { samples: 60 } }));
      assert.deepEqual([aborted.state, aborted.weight], ['aborted', 0]);
      assert.equal(await holder('abort-bot', 'challenger'), vs[1]);
      const audit = await store.read.audit.list({ limit: 10000 });
      const rollback = audit.filter((e) => e.action === 'promotion.rolled_back' && e.model === 'abort-bot').at(-1);
      const why = `deployment abort: canary of abort-bot:${vs[2]} aborted: quality 0.4 < 0.7`;
      assert.equal(rollback?.reason, why);
      assert.equal(rollback?.actor, 'gateway-token');
      const move = audit.filter((e) => e.action === 'alias.set' && e.subject === 'abort-bot@challenger').at(-1);
      assert.equal(move?.reason, why);
      const ev = audit.filter((e) => e.action === 'deployment.aborted').at(-1);
      assert.deepEqual((ev?.after as { alias: unknown } | undefined)?.alias, {
        alias: 'challenger',
        action: 'rolled_back',
        from: vs[2],
        to: vs[1],
        promotion: rollback?.subject,
      });
      await expectCode(reg.deployments.decide(gw, 'abort', next(aborted, 'complete')), 'CONFLICT', /is aborted/);
    });

    it('deletes the candidate alias on abort when it held nothing before', async () => {
      const vs = await model('fresh-bot', { challenger: false });
      await reg.deployments.apply(gw, deploymentYaml({ name: 'fresh', model: 'fresh-bot' }));
      await reg.aliases.set(admin, 'fresh-bot', 'challenger', { version: vs[1] as number });
      const r0 = await reg.deployments.decide(gw, 'fresh', start(vs[1] as number));
      await reg.deployments.decide(gw, 'fresh', next(r0, 'abort', { reason: 'errors' }));
      assert.equal(await holder('fresh-bot', 'challenger'), null);
    });

    it('completes a canary by moving the stable alias, then bakes the new stable', async () => {
      const vs = await model('done-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'done', model: 'done-bot', steps: '[{weight: 20}]', extra: 'bake: 10s' }));
      const r0 = await reg.deployments.decide(gw, 'done', start(vs[1] as number));
      const bake = await reg.deployments.decide(gw, 'done', next(r0, 'complete', { reason: 'SLOs held' }));
      assert.equal(await holder('done-bot', 'champion'), vs[1]);
      assert.deepEqual([bake.kind, bake.state, bake.weight, bake.stable_version, bake.candidate_version], ['bake', 'progressing', 100, vs[0], vs[1]]);
      assert.notEqual(bake.id, r0.id);
      const audit = await store.read.audit.list({ limit: 10000 });
      const move = audit.filter((e) => e.action === 'alias.set' && e.subject === 'done-bot@champion').at(-1);
      assert.match(move?.reason ?? '', /deployment done: canary of done-bot:\d+ completed: SLOs held/);
      assert.deepEqual((await actions('done')).slice(-2), ['deployment.completed', 'deployment.rollout_started']);
      // A failing bake rolls the stable alias back.
      const aborted = await reg.deployments.decide(gw, 'done', next(bake, 'abort', { reason: 'p99 900 > 800' }));
      assert.equal(aborted.state, 'aborted');
      assert.equal(await holder('done-bot', 'champion'), vs[0]);
    });

    it('starts a blue-green switch with the stable alias move, switches on complete and rolls the alias back on abort', async () => {
      const vs = await model('bg-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'bg', model: 'bg-bot', strategy: 'blue-green' }));
      // The move itself starts the switch, in its transaction: traffic stays on the side serving.
      await reg.aliases.set(admin, 'bg-bot', 'champion', { version: vs[1] as number });
      const r0 = (await store.read.deployments.rollout('bg'))!;
      assert.deepEqual([r0.kind, r0.state, r0.weight, r0.stable_version, r0.candidate_version], ['blue-green', 'progressing', 0, vs[0], vs[1]]);
      await expectCode(reg.deployments.decide(gw, 'bg', { ...start(vs[1] as number, 'blue-green') }), 'CONFLICT', /already has a blue-green rollout/);
      await expectCode(reg.deployments.decide(gw, 'bg', next(r0, 'advance')), 'FAILED_PRECONDITION', /has no steps/);
      const aborted = await reg.deployments.decide(gw, 'bg', next(r0, 'abort', { reason: 'warm-up timed out' }));
      assert.equal(aborted.state, 'aborted');
      assert.equal(await holder('bg-bot', 'champion'), vs[0]);
      // The rollback went back to the side still serving: no second switch.
      assert.equal((await store.read.deployments.rollout('bg'))?.id, r0.id);

      await reg.aliases.set(admin, 'bg-bot', 'champion', { version: vs[2] as number });
      const r1 = (await store.read.deployments.rollout('bg'))!;
      assert.deepEqual([r1.stable_version, r1.candidate_version, r1.state], [vs[0], vs[2], 'progressing']);
      // Moving on before the switch keeps the side serving; moving back to it ends the switch.
      await reg.aliases.set(admin, 'bg-bot', 'champion', { version: vs[1] as number });
      const r2 = (await store.read.deployments.rollout('bg'))!;
      assert.deepEqual([r2.stable_version, r2.candidate_version], [vs[0], vs[1]]);
      await reg.aliases.set(admin, 'bg-bot', 'champion', { version: vs[0] as number });
      const ended = (await store.read.deployments.rollout('bg'))!;
      assert.deepEqual([ended.id, ended.state, ended.last_decision?.gateway], [r2.id, 'aborted', 'registry']);

      await reg.aliases.set(admin, 'bg-bot', 'champion', { version: vs[2] as number });
      const r3 = (await store.read.deployments.rollout('bg'))!;
      const done = await reg.deployments.decide(gw, 'bg', next(r3, 'complete'));
      assert.deepEqual([done.state, done.weight, done.kind], ['completed', 100, 'blue-green']);
      assert.equal(await holder('bg-bot', 'champion'), vs[2]);
      // Switching back (a rollback) is a switch too, from the side now serving.
      await reg.promotions.rollback(admin, 'bg-bot', 'champion', { reason: 'back' });
      const back = (await store.read.deployments.rollout('bg'))!;
      assert.deepEqual([back.kind, back.state, back.stable_version, back.candidate_version], ['blue-green', 'progressing', vs[2], vs[0]]);
      const started = (await store.read.audit.list({ limit: 10000 })).filter((e) => e.action === 'deployment.rollout_started' && e.subject === 'bg');
      assert.ok(started.every((e) => e.actor === admin.name));
    });

    it('completes through the bound policy: a refusal answers 412, stores the failed promotion and leaves the rollout', async () => {
      const vs = await model('bound-bot');
      await reg.policies.apply(
        admin,
        'bound-gate',
        'policy: bound-gate\ntarget_alias: champion\nmodels: [bound-bot]\ngates:\n  - { name: accuracy, metric: accuracy, min: 0.9 }\n',
      );
      await reg.deployments.apply(gw, deploymentYaml({ name: 'bound', model: 'bound-bot' }));
      const r0 = await reg.deployments.decide(gw, 'bound', start(vs[1] as number));
      const err = await expectCode(reg.deployments.decide(gw, 'bound', next(r0, 'complete')), 'FAILED_PRECONDITION', /failed policy bound-gate/);
      const stored = await reg.promotions.get(err.details.promotion as string);
      assert.equal(stored.state, 'failed');
      assert.equal(await holder('bound-bot', 'champion'), vs[0]);
      const still = await store.read.deployments.rollout('bound');
      assert.deepEqual([still?.id, still?.state, still?.step], [r0.id, 'progressing', 0]);
      await reg.evaluations.record(admin, 'bound-bot', vs[1] as number, { metrics: { accuracy: 0.95 } });
      const done = await reg.deployments.decide(gw, 'bound', next(r0, 'complete'));
      assert.equal(done.state, 'completed');
      assert.equal(await holder('bound-bot', 'champion'), vs[1]);
      const move = (await store.read.audit.list({ limit: 10000 })).filter((e) => e.action === 'alias.set' && e.subject === 'bound-bot@champion').at(-1);
      assert.match(String((move?.after as { promotion?: string } | undefined)?.promotion), /^prm_/);
    });

    it('answers 412 when the bound policy wants approvals, and leaves the rollout and the alias', async () => {
      const vs = await model('pend-bot');
      await reg.policies.apply(
        admin,
        'pend-gate',
        'policy: pend-gate\ntarget_alias: champion\nmodels: [pend-bot]\nrequire_approvals: 1\ngates:\n  - { name: accuracy, metric: accuracy, min: 0.9 }\n',
      );
      await reg.evaluations.record(admin, 'pend-bot', vs[1] as number, { metrics: { accuracy: 0.95 } });
      await reg.deployments.apply(gw, deploymentYaml({ name: 'pend', model: 'pend-bot' }));
      const r0 = await reg.deployments.decide(gw, 'pend', start(vs[1] as number));
      const err = await expectCode(reg.deployments.decide(gw, 'pend', next(r0, 'complete')), 'FAILED_PRECONDITION', /awaits 1 approval\(s\)/);
      assert.equal((await reg.promotions.get(err.details.promotion as string)).state, 'pending');
      assert.equal(await holder('pend-bot', 'champion'), vs[0]);
      assert.equal((await store.read.deployments.rollout('pend'))?.state, 'progressing');
    });

    it('aborts without moving an alias that is frozen or no longer holds the candidate, and says so', async () => {
      const vs = await model('keep-bot');
      await reg.aliases.set(admin, 'keep-bot', 'challenger', { version: vs[2] as number });
      await reg.deployments.apply(gw, deploymentYaml({ name: 'keep', model: 'keep-bot' }));
      const r0 = await reg.deployments.decide(gw, 'keep', start(vs[2] as number));
      await reg.aliases.setFrozen(admin, 'keep-bot', 'challenger', true, 'incident');
      const aborted = await reg.deployments.decide(gw, 'keep', next(r0, 'abort', { reason: 'errors' }));
      assert.deepEqual([aborted.state, aborted.weight, await holder('keep-bot', 'challenger')], ['aborted', 0, vs[2]]);
      const outcome = async () =>
        ((await store.read.audit.list({ limit: 10000 })).filter((e) => e.action === 'deployment.aborted').at(-1)?.after as { alias: unknown } | undefined)
          ?.alias;
      assert.deepEqual(await outcome(), { alias: 'challenger', action: 'unchanged', from: vs[2], to: vs[2], why: 'it is frozen' });
      await reg.aliases.setFrozen(admin, 'keep-bot', 'challenger', false);
      const r1 = await reg.deployments.decide(gw, 'keep', start(vs[2] as number));
      await reg.aliases.set(admin, 'keep-bot', 'challenger', { version: vs[0] as number });
      await reg.deployments.decide(gw, 'keep', next(r1, 'abort', { reason: 'errors' }));
      assert.equal(await holder('keep-bot', 'challenger'), vs[0], 'a move by hand since the start is not undone');
      assert.deepEqual(await outcome(), { alias: 'challenger', action: 'unchanged', from: vs[0], to: vs[0], why: 'it no longer holds the candidate' });
    });

    it('answers the rollout as it stood at a past time, from the events of its decisions', async () => {
      const vs = await model('past-bot');
      const iso = (ms: number) => new Date(ms).toISOString();
      const tBefore = clock.t;
      clock.advance(1000);
      await reg.deployments.apply(gw, deploymentYaml({ name: 'past', model: 'past-bot' }));
      const tApplied = clock.t;
      clock.advance(1000);
      const r0 = await reg.deployments.decide(gw, 'past', start(vs[1] as number));
      const tStep0 = clock.t;
      clock.advance(1000);
      const r1 = await reg.deployments.decide(gw, 'past', next(r0, 'advance'));
      const tStep1 = clock.t;
      clock.advance(1000);
      await reg.deployments.decide(gw, 'past', next(r1, 'abort', { reason: 'quality' }));
      const tAborted = clock.t;
      clock.advance(1000);
      await reg.deployments.delete(gw, 'past', 'gone');
      const tDeleted = clock.t;

      const at = async (t: number) => (await reg.deployments.rolloutAt('past', iso(t))).rollout;
      assert.equal(await at(tBefore), null, 'before the deployment existed');
      assert.equal(await at(tApplied), null, 'applied, no rollout yet');
      assert.deepEqual([(await at(tStep0))?.step, (await at(tStep0))?.weight, (await at(tStep0))?.state], [0, 10, 'progressing']);
      assert.deepEqual([(await at(tStep1))?.step, (await at(tStep1))?.weight], [1, 50]);
      assert.deepEqual([(await at(tAborted))?.state, (await at(tAborted))?.weight], ['aborted', 0]);
      assert.equal(await at(tDeleted), null, 'a deleted deployment has no rollout');
      await expectCode(reg.deployments.rolloutAt('never', iso(tStep0)), 'NOT_FOUND', /never/);
      await expectCode(reg.deployments.rolloutAt('past', 'yesterday-ish'), 'INVALID_ARGUMENT', /at/);
    });

    it('stores served reports, audits only a change of mix, and answers what was served at a time', async () => {
      const vs = await model('served-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'served', model: 'served-bot' }));
      const t0 = clock.t;
      const iso = (ms: number) => new Date(ms).toISOString();
      const version = (v: number, weight: number, requests: number, shadow = false) => ({
        version: v,
        weight,
        shadow,
        requests,
        errors: 0,
        p50_ms: 10,
        p99_ms: 20,
        tokens_in: 0,
        tokens_out: 0,
        judged: 0,
        below: 0,
        mean_score: null,
      });
      const report = (gateway: string, from: number, to: number, versions: ServedReportBody['versions']): ServedReportBody => ({
        gateway,
        from: iso(from),
        to: iso(to),
        versions,
      });
      const servedEvents = async () => (await actions('served')).filter((a) => a === 'deployment.served').length;
      const a = vs[0] as number;
      const b = vs[1] as number;
      const first = await reg.deployments.reportServed(editor, 'served', report('g1', t0 - 30000, t0 - 20000, [version(a, 90, 90), version(b, 10, 10)]));
      assert.deepEqual([first.gateway, first.from, first.to], ['g1', t0 - 30000, t0 - 20000]);
      assert.equal(await servedEvents(), 1);
      await reg.deployments.reportServed(editor, 'served', report('g1', t0 - 20000, t0 - 10000, [version(a, 90.2, 85), version(b, 9.8, 15)]));
      assert.equal(await servedEvents(), 1, 'the same mix is not audited again');
      await reg.deployments.reportServed(editor, 'served', report('g1', t0 - 10000, t0, [version(a, 50, 50), version(b, 50, 50)]));
      assert.equal(await servedEvents(), 2);
      await reg.deployments.reportServed(editor, 'served', report('g2', t0 - 15000, t0 - 5000, [version(a, 100, 30), version(vs[2] as number, 0, 0)]));
      assert.equal(await servedEvents(), 3, "another gateway's first report is on record");
      const last = (await store.read.audit.list({ limit: 10000 })).filter((e) => e.action === 'deployment.served').at(-2);
      assert.deepEqual(last?.before, {
        gateway: 'g1',
        versions: [
          { version: a, weight: 90, shadow: false },
          { version: b, weight: 10, shadow: false },
        ],
      });
      assert.deepEqual((last?.after as { versions: unknown } | undefined)?.versions, [
        { version: a, weight: 50, shadow: false },
        { version: b, weight: 50, shadow: false },
      ]);

      const at = await reg.deployments.servedAt('served', iso(t0 - 12000));
      assert.deepEqual(
        at.reports.map((r) => r.gateway),
        ['g1', 'g2'],
      );
      assert.deepEqual(at.versions, [
        { version: a, requests: 115, share: 115 / 130, weight: (90.2 + 100) / 2, shadow: false },
        { version: b, requests: 15, share: 15 / 130, weight: 9.8 / 2, shadow: false },
      ]);
      const none = await reg.deployments.servedAt('served', iso(t0 - 3_600_000));
      assert.deepEqual([none.reports, none.versions], [[], []]);
      await expectCode(reg.deployments.servedAt('never', iso(t0)), 'NOT_FOUND');
      await expectCode(reg.deployments.servedAt('served', 'yesterday'), 'INVALID_ARGUMENT', /invalid at/);

      const status = await reg.deployments.status('served');
      assert.deepEqual(
        status.reports.map((r) => [r.gateway, r.to]),
        [
          ['g1', t0],
          ['g2', t0 - 5000],
        ],
      );
      clock.advance(10 * 60_000);
      assert.deepEqual((await reg.deployments.status('served')).reports, [], 'gateways silent for a minute drop out of status');

      const before = await auditCount();
      const now = clock.t;
      await expectCode(reg.deployments.reportServed(editor, 'served', report('g1', now - 10, now - 10, [])), 'INVALID_ARGUMENT', /must be before to/);
      await expectCode(reg.deployments.reportServed(editor, 'served', report('g1', now, now + 120_000, [])), 'INVALID_ARGUMENT', /in the future/);
      await expectCode(
        reg.deployments.reportServed(editor, 'served', report('g1', now - 20, now - 10, [version(a, 50, 1), version(a, 50, 1)])),
        'INVALID_ARGUMENT',
        /twice/,
      );
      await expectCode(
        reg.deployments.reportServed(editor, 'served', report('g1', now - 20, now - 10, [{ ...version(a, 100, 1), errors: 2 }])),
        'INVALID_ARGUMENT',
        /2 errors in 1 requests/,
      );
      await expectCode(reg.deployments.reportServed(localActor('v', 'api'), 'nope', report('g1', now - 20, now - 10, [])), 'NOT_FOUND');
      await expectCode(
        reg.deployments.reportServed({ name: 'viewer', roles: new Set(['viewer']), via: 'api' }, 'served', report('g1', now - 20, now - 10, [])),
        'PERMISSION_DENIED',
        /editor/,
      );
      assert.equal(await auditCount(), before);

      await reg.deployments.delete(gw, 'served', 'retired');
      await expectCode(reg.deployments.status('served'), 'NOT_FOUND');
      assert.equal((await reg.deployments.servedAt('served', iso(t0 - 12000))).reports.length, 2, 'a deleted deployment still answers for its time');
    });

    it('deletes a deployment with its rollout; applying it again continues its versions', async () => {
      const vs = await model('del-bot');
      await reg.deployments.apply(gw, deploymentYaml({ name: 'del', model: 'del-bot' }));
      await reg.deployments.decide(gw, 'del', start(vs[1] as number));
      await expectCode(reg.deployments.delete(editor, 'del'), 'PERMISSION_DENIED', /approver/);
      await reg.deployments.delete(gw, 'del', 'moving to another gateway');
      await expectCode(reg.deployments.get('del'), 'NOT_FOUND');
      await expectCode(reg.deployments.routing('del'), 'NOT_FOUND');
      await expectCode(reg.deployments.delete(gw, 'del'), 'NOT_FOUND');
      assert.equal(await store.read.deployments.rollout('del'), undefined);
      const e = (await store.read.audit.list({ limit: 10000 })).filter((x) => x.action === 'deployment.deleted' && x.subject === 'del').at(-1);
      assert.equal(e?.reason, 'moving to another gateway');
      const again = await reg.deployments.apply(gw, deploymentYaml({ name: 'del', model: 'del-bot' }));
      assert.equal(again.version, 2);
      assert.ok(!(await reg.deployments.list({})).items.some((d) => d.name === 'del' && d.version === 1));
    });
  });
}
