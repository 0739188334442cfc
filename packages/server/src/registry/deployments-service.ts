import {
  BUNDLE_MANIFEST_PATH,
  BerthError,
  ROLLOUT_DECISIONS,
  ROLLOUT_KINDS,
  canonicalJson,
  invalid,
  isDeploymentName,
  isoTime,
  notContentAddressed,
  notFound,
  parseDeployment,
  parseInstant,
  parsePin,
  sha256Hex,
  type DeploymentDocument,
  type Rollout,
  type RolloutDecisionBody,
  type RolloutKind,
  type RolloutState,
  type RoutedVersion,
  type ServedReportBody,
  type ServedVersion,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { DeploymentRecord, RolloutDecisionRecord, RolloutRecord, ServedRecord } from '../store/deployments.js';
import { requireRole, type Actor } from './actor.js';
import { cleanReason, conflict, requireModel, requireVersion, type RegistryDeps } from './deps.js';
import { recordChange, type ModelRef } from './changes.js';
import { newRolloutId, toWireRollout } from './rollout-records.js';
import { Keyset } from './paging.js';
import type { ResultPage } from './results.js';
import { boundPolicy } from './policies-service.js';
import { refusal, type PromotionService } from './promotions-service.js';
import type { AliasService } from './aliases-service.js';

/** A deployment version, and whether applying it added nothing (the same document was the latest). */
export interface DeploymentView extends DeploymentRecord {
  unchanged?: boolean;
}

/** A served report as the registry holds it (times in epoch milliseconds). */
export type ServedView = ServedRecord;

/** Everything a gateway routes one deployment by, read in one transaction after the event head `seq`. */
export interface RoutingView {
  seq: number;
  deployment: DeploymentRecord;
  aliases: Record<string, number | null>;
  versions: RoutedVersion[];
  rollout: RolloutRecord | null;
}

export interface ServedAtView {
  deployment: string;
  at: number;
  reports: ServedRecord[];
  versions: { version: number; requests: number; share: number; weight: number; shadow: boolean }[];
}

export interface DeploymentStatusView {
  deployment: DeploymentRecord;
  aliases: Record<string, number | null>;
  rollout: RolloutRecord | null;
  reports: ServedRecord[];
}

/** Largest deployment text accepted. */
const MAX_DEPLOYMENT_BYTES = 256 * 1024;
/** How far past the registry's clock a report's window may end: gateways' clocks drift a little. */
const SERVED_FUTURE_MS = 60_000;
/** A gateway counts in a deployment's status while its last report ended this recently. */
const STATUS_RECENT_MS = 60_000;
const ACTIVE: ReadonlySet<RolloutState> = new Set(['progressing', 'held']);
/** The events that leave a rollout behind them (in `after.rollout`), and the delete that removes it. */
const ROLLOUT_ACTIONS = [
  'deployment.rollout_started',
  'deployment.step_advanced',
  'deployment.held',
  'deployment.aborted',
  'deployment.completed',
  'deployment.deleted',
] as const;
/** Strategies whose candidate alias may be unset when applied: nothing is under test yet. */
const CANDIDATE_MAY_WAIT: ReadonlySet<string> = new Set(['canary', 'shadow', 'blue-green']);

function checkName(name: string): void {
  if (!isDeploymentName(name)) throw invalid(`invalid deployment name ${JSON.stringify(name)}: use 1-128 characters of A-Z a-z 0-9 . _ -`, { field: 'name' });
}

function checkVersionNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) throw invalid(`${field} must be a positive version number`, { field });
  return v;
}

function deploymentDigest(doc: DeploymentDocument): string {
  return `sha256:${sha256Hex(canonicalJson(doc))}`;
}

/** The aliases a document names, each with the key that names it: stable, candidate, then each A/B variant. */
function namedAliases(doc: DeploymentDocument): Map<string, string> {
  const out = new Map<string, string>([[doc.stable, 'stable']]);
  if (doc.candidate !== null && !out.has(doc.candidate)) out.set(doc.candidate, 'candidate');
  for (const alias of Object.keys(doc.ab?.weights ?? {})) if (!out.has(alias)) out.set(alias, 'ab.weights');
  return out;
}

function servedByUpstream(doc: DeploymentDocument, version: number): boolean {
  return doc.upstreams.some((u) => u.versions === '*' || u.versions.includes(version));
}

/** The mix a report served: versions with rounded weights and shadow flags, sorted; a version at 0% that is no shadow ran nothing. */
function mixOf(versions: readonly ServedVersion[]): { version: number; weight: number; shadow: boolean }[] {
  return versions
    .map((v) => ({ version: v.version, weight: Math.round(v.weight), shadow: v.shadow }))
    .filter((v) => v.weight > 0 || v.shadow)
    .sort((a, b) => a.version - b.version || Number(a.shadow) - Number(b.shadow));
}

/** What an abort did to the alias under test. */
interface AliasOutcome {
  alias: string;
  action: 'rolled_back' | 'deleted' | 'unchanged';
  from: number | null;
  to: number | null;
  promotion?: string;
  why?: string;
}

/**
 * Deployments (issue 12, decision 0023): documents versioned like policies, checked against the
 * registry when applied; the rollout each is in, decided by gateways with compare-and-swap on
 * its id and step; and what gateways report they served. Aborts and completions move aliases
 * in the transaction that records the decision, through the governance rollback and promotions.
 */
export class DeploymentService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly aliases: AliasService,
    private readonly promotions: PromotionService,
  ) {}

  /** Stores a deployment's YAML as its next version (or nothing new when the document is unchanged). */
  async apply(actor: Actor, yaml: string): Promise<DeploymentView> {
    if (typeof yaml !== 'string' || Buffer.byteLength(yaml) > MAX_DEPLOYMENT_BYTES)
      throw invalid(`a deployment is a YAML text of at most ${MAX_DEPLOYMENT_BYTES} bytes`, { field: 'yaml' });
    const document = parseDeployment(yaml);
    requireRole(actor, 'approver', 'applying a deployment', document.model);
    const name = document.deployment;
    const digest = deploymentDigest(document);
    return this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, document.model);
      await this.checkAgainstRegistry(tx, model, document);
      const latest = await tx.deployments.latest(name);
      if (latest?.digest === digest && latest.model_id === model.id) return { ...latest, unchanged: true };
      const now = this.deps.clock.now();
      const rec: DeploymentRecord = {
        name,
        version: (await tx.deployments.lastVersion(name)) + 1,
        digest,
        model_id: model.id,
        model: model.name,
        document,
        yaml,
        created_by: actor.name,
        created_at: now,
      };
      // A rollout is of one model's versions: a document moved to another model starts afresh.
      if (latest && latest.model_id !== model.id) await tx.deployments.dropRollout(name);
      await tx.deployments.insertLatest(rec);
      await recordChange(tx, actor, now, {
        action: 'deployment.applied',
        subject: { type: 'deployment', model, name },
        before: latest ? { version: latest.version, digest: latest.digest, model: latest.model } : null,
        after: { version: rec.version, digest, model: model.name, strategy: document.strategy },
      });
      return { ...rec, unchanged: false };
    });
  }

  /**
   * What a document claims of the registry, checked before it is stored: its aliases are set
   * (a candidate under test may wait), the versions its upstreams list exist, every version its
   * aliases hold is content-addressed, a bundle where the model is one, and served by some
   * upstream, and its judge's rubric is a prompt version that exists.
   */
  private async checkAgainstRegistry(tx: StoreTx, model: ModelRecord, doc: DeploymentDocument): Promise<void> {
    const held = new Map<number, string>();
    for (const [alias, key] of namedAliases(doc)) {
      const a = await tx.aliases.find(model.id, alias);
      if (a) {
        if (!held.has(a.version)) held.set(a.version, alias);
        continue;
      }
      if (key === 'candidate' && CANDIDATE_MAY_WAIT.has(doc.strategy)) continue;
      const fix =
        key === 'stable'
          ? `set it first (\`berth alias set ${model.name} ${alias} <version>\`) or name another stable alias`
          : key === 'candidate'
            ? 'set it or drop candidate'
            : 'set it or drop it from ab.weights';
      throw new BerthError('FAILED_PRECONDITION', `${model.name}@${alias} is not set: ${fix}`, { model: model.name, alias, key });
    }
    for (const [i, u] of doc.upstreams.entries()) {
      if (u.versions === '*') continue;
      for (const v of u.versions) {
        if (!(await tx.versions.find(model.id, v)))
          throw notFound(`${model.name}:${v} does not exist: upstreams[${i}].versions lists it; see \`berth ls ${model.name}\``, {
            model: model.name,
            version: v,
            key: `upstreams[${i}].versions`,
          });
      }
    }
    for (const [v, alias] of held) {
      const version = await requireVersion(tx, model, v);
      const ref = `${model.name}:${v}`;
      if (!version.content_addressed)
        throw notContentAddressed(
          ref,
          version.external_uri ?? '',
          `@${alias} cannot be deployed: a gateway routes only to a version whose digest it verifies, and this one is unpinned`,
        );
      if (model.kind === 'bundle' && !(await tx.versions.file(version.id, BUNDLE_MANIFEST_PATH))) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `${ref} is not a bundle version: it has no ${BUNDLE_MANIFEST_PATH} (@${alias} holds it); point @${alias} at a version made with \`berth bundle create\``,
          { version: ref, alias },
        );
      }
      if (!servedByUpstream(doc, v))
        throw new BerthError('FAILED_PRECONDITION', `no upstream serves ${ref}: add its number or "*" to an upstream's versions (@${alias} holds it)`, {
          version: ref,
          alias,
        });
    }
    if (doc.judge) await this.checkRubric(tx, doc.judge.rubric);
  }

  private async checkRubric(tx: StoreTx, rubric: string): Promise<void> {
    const pin = parsePin(rubric, 'judge.rubric');
    const model = await tx.models.findByName(pin.name);
    const version = !model
      ? undefined
      : pin.selector.kind === 'version'
        ? await tx.versions.find(model.id, pin.selector.version)
        : await tx.versions.findByDigest(model.id, pin.selector.digest);
    if (!model || !version)
      throw notFound(`judge.rubric ${rubric} does not exist: push the rubric prompt first (\`berth prompt push\`)`, { key: 'judge.rubric', rubric });
    if (model.kind !== 'prompt')
      throw new BerthError('FAILED_PRECONDITION', `judge.rubric ${rubric} is a ${model.kind}, not a prompt: pin a prompt version`, {
        key: 'judge.rubric',
        rubric,
      });
  }

  /** A deployment's latest version, or the version asked for. */
  async get(name: string, version?: number): Promise<DeploymentRecord> {
    checkName(name);
    if (version !== undefined) checkVersionNumber(version, 'version');
    const tx = this.deps.store.read;
    const latest = await requireLive(tx, name);
    if (version === undefined || version === latest.version) return latest;
    const found = await tx.deployments.find(name, version);
    if (!found) throw notFound(`deployment ${name} has no version ${version} (its latest is ${latest.version})`, { deployment: name, version });
    return found;
  }

  async list(opts: { cursor?: string; limit?: unknown }): Promise<ResultPage<DeploymentRecord>> {
    const keyset = new Keyset(opts, 'n', String);
    return keyset.page(await this.deps.store.read.deployments.listLatest({ after: keyset.after, limit: keyset.fetch }), (d) => d.name);
  }

  /** Removes a deployment and its rollout; its versions and served reports stay for the audit trail and `berth at --served`. */
  async delete(actor: Actor, name: string, reason?: string | null): Promise<void> {
    checkName(name);
    const first = await requireLive(this.deps.store.read, name);
    requireRole(actor, 'approver', 'deleting a deployment', (await modelRefOf(this.deps.store.read, first)).name);
    const why = cleanReason(reason);
    await this.deps.store.transaction(async (tx) => {
      const dep = await requireLive(tx, name);
      const rollout = await tx.deployments.rollout(name);
      await tx.deployments.retire(name);
      await recordChange(tx, actor, this.deps.clock.now(), {
        action: 'deployment.deleted',
        subject: { type: 'deployment', model: await modelRefOf(tx, dep), name },
        before: { version: dep.version, digest: dep.digest, rollout: rollout ? toWireRollout(rollout) : null },
        after: null,
        reason: why,
      });
    });
  }

  /**
   * The routing snapshot. The event head is read first: whatever changes after it is an event
   * after `seq`, so a gateway that follows events from `seq` misses nothing even where the
   * database shows each statement the newest commits (PostgreSQL's read committed).
   */
  async routing(name: string): Promise<RoutingView> {
    checkName(name);
    return this.deps.store.transaction(async (tx) => {
      const seq = (await tx.audit.head()).seq;
      const deployment = await requireLive(tx, name);
      const model = await tx.models.findById(deployment.model_id);
      const rollout = (await tx.deployments.rollout(name)) ?? null;
      const aliases = await aliasHolders(tx, model, deployment.document);
      const wanted = new Set<number>();
      for (const v of Object.values(aliases)) if (v !== null) wanted.add(v);
      if (rollout) {
        wanted.add(rollout.candidate_version);
        if (rollout.stable_version !== null) wanted.add(rollout.stable_version);
      }
      const versions: RoutedVersion[] = [];
      if (model) {
        for (const n of [...wanted].sort((a, b) => a - b)) {
          const v = await tx.versions.find(model.id, n);
          if (!v) continue;
          versions.push({
            version: v.version,
            digest: v.digest,
            kind: model.kind,
            content_addressed: v.content_addressed,
            files: await tx.versions.files(v.id),
            metadata: v.metadata,
          });
        }
      }
      return { seq, deployment, aliases, versions, rollout };
    });
  }

  /**
   * A gateway's rollout decision. Every decision but `start` names the rollout and step it was
   * taken at and lands only while the rollout is still there (compare-and-swap): of two gateways
   * deciding one step, one wins and the other gets CONFLICT with the rollout as it is now.
   */
  async decide(actor: Actor, name: string, body: RolloutDecisionBody): Promise<RolloutRecord> {
    checkName(name);
    const first = await requireLive(this.deps.store.read, name);
    requireRole(actor, 'approver', 'deciding a rollout', (await modelRefOf(this.deps.store.read, first)).name);
    checkDecision(body);
    const reason = cleanReason(body.reason);
    let out: { rollout: RolloutRecord } | { refused: BerthError };
    try {
      out = await this.deps.store.transaction(async (tx) => {
        const dep = await requireLive(tx, name);
        const model = await tx.models.findById(dep.model_id);
        if (!model)
          throw notFound(`model ${dep.model} of deployment ${name} no longer exists: apply the deployment again for a model that does`, {
            deployment: name,
            model: dep.model,
          });
        const current = (await tx.deployments.rollout(name)) ?? null;
        const now = this.deps.clock.now();
        const decision: RolloutDecisionRecord = { decision: body.decision, at: now, gateway: body.gateway, reason, evidence: body.evidence ?? {} };
        const ctx: DecisionContext = { tx, actor, dep, model, now, decision, body };
        if (body.decision === 'start') return { rollout: await this.start(ctx, current) };
        const active = expectRollout(name, current, body);
        switch (body.decision) {
          case 'advance':
            return { rollout: await this.advance(ctx, active) };
          case 'hold':
            return { rollout: await this.hold(ctx, active) };
          case 'abort':
            return { rollout: await this.abort(ctx, active) };
          default:
            return this.complete(ctx, active);
        }
      });
    } catch (err) {
      throw await this.withCurrentRollout(err, name);
    }
    if ('refused' in out) throw out.refused;
    return out.rollout;
  }

  /** A CONFLICT from a lost race inside the store carries no rollout: read the one that won, so the loser can follow it. */
  private async withCurrentRollout(err: unknown, name: string): Promise<unknown> {
    if (!(err instanceof BerthError) || err.code !== 'CONFLICT' || 'rollout' in err.details) return err;
    if (err.details.deployment !== name) return err;
    const now = await this.deps.store.read.deployments.rollout(name);
    return new BerthError('CONFLICT', err.message, { ...err.details, rollout: now ? toWireRollout(now) : null });
  }

  private async start(ctx: DecisionContext, current: RolloutRecord | null): Promise<RolloutRecord> {
    const { tx, dep, model, now, body } = ctx;
    const kind = body.kind as RolloutKind;
    const doc = dep.document;
    const fits = kind === 'bake' ? doc.bake_ms > 0 : kind === doc.strategy;
    if (!fits) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        kind === 'bake'
          ? `deployment ${dep.name} has no bake (bake is 0): a bake rollout is not for it`
          : `deployment ${dep.name} is ${doc.strategy}: a ${kind} rollout is not for it`,
        { deployment: dep.name, strategy: doc.strategy, kind },
      );
    }
    await requireVersion(tx, model, body.candidate_version);
    if (current && current.kind === kind && current.candidate_version === body.candidate_version && ACTIVE.has(current.state)) {
      throw conflict(
        `deployment ${dep.name} already has a ${kind} rollout of ${model.name}:${body.candidate_version} (${current.id}, ${current.state}): follow it`,
        {
          deployment: dep.name,
          rollout: toWireRollout(current),
        },
      );
    }
    const stable = body.stable_version !== undefined ? body.stable_version : ((await tx.aliases.find(model.id, doc.stable))?.version ?? null);
    const next: RolloutRecord = {
      id: newRolloutId(now),
      deployment: dep.name,
      kind,
      stable_version: stable,
      candidate_version: body.candidate_version,
      state: 'progressing',
      step: 0,
      weight: kind === 'canary' ? (doc.steps[0]?.weight ?? 0) : kind === 'blue-green' ? 0 : 100,
      started_at: now,
      step_started_at: now,
      updated_at: now,
      last_decision: ctx.decision,
    };
    if (current) await this.swap(ctx, current, next);
    else await tx.deployments.insertRollout(next);
    await this.record(ctx, 'deployment.rollout_started', current, next, { replaced: current && ACTIVE.has(current.state) ? toWireRollout(current) : null });
    return next;
  }

  private async advance(ctx: DecisionContext, current: RolloutRecord): Promise<RolloutRecord> {
    const steps = ctx.dep.document.steps;
    if (current.kind !== 'canary') throw this.noSteps(current);
    const target = steps[current.step + 1];
    if (target === undefined) {
      throw new BerthError('FAILED_PRECONDITION', `step ${current.step} is the last of ${ctx.dep.name}'s canary: complete it instead of advancing`, {
        deployment: ctx.dep.name,
        step: current.step,
        steps: steps.length,
      });
    }
    const next: RolloutRecord = {
      ...current,
      step: current.step + 1,
      weight: target.weight,
      state: 'progressing',
      step_started_at: ctx.now,
      updated_at: ctx.now,
      last_decision: ctx.decision,
    };
    await this.swap(ctx, current, next);
    await this.record(ctx, 'deployment.step_advanced', current, next);
    return next;
  }

  private noSteps(r: RolloutRecord): BerthError {
    return new BerthError('FAILED_PRECONDITION', `a ${r.kind} rollout has no steps: complete or abort it`, { deployment: r.deployment, kind: r.kind });
  }

  /** Held already at this step: nothing changes and nothing is recorded (an inconclusive analysis repeats each interval). */
  private async hold(ctx: DecisionContext, current: RolloutRecord): Promise<RolloutRecord> {
    if (current.state === 'held') return current;
    const next: RolloutRecord = { ...current, state: 'held', updated_at: ctx.now, last_decision: ctx.decision };
    await this.swap(ctx, current, next);
    await this.record(ctx, 'deployment.held', current, next);
    return next;
  }

  /**
   * Weight 0, and the alias under test moved back in the same transaction through the
   * governance rollback: a canary's candidate alias, a switch's or bake's stable alias — only
   * while it still holds the candidate (a later move by hand is not undone).
   */
  private async abort(ctx: DecisionContext, current: RolloutRecord): Promise<RolloutRecord> {
    const { dep, model } = ctx;
    const next: RolloutRecord = { ...current, state: 'aborted', weight: 0, updated_at: ctx.now, last_decision: ctx.decision };
    await this.swap(ctx, current, next);
    const why = `deployment ${dep.name}: ${current.kind} of ${model.name}:${current.candidate_version} aborted: ${ctx.decision.reason ?? 'no reason given'}`;
    const alias = current.kind === 'canary' ? dep.document.candidate : dep.document.stable;
    const outcome = alias === null ? null : await this.rollBack(ctx, alias, current.candidate_version, why, current.kind === 'canary');
    await this.record(ctx, 'deployment.aborted', current, next, { alias: outcome });
    return next;
  }

  private async rollBack(ctx: DecisionContext, alias: string, candidate: number, why: string, deleteWithoutPrevious: boolean): Promise<AliasOutcome> {
    const { tx, actor, model } = ctx;
    const cur = await tx.aliases.find(model.id, alias);
    if (!cur || cur.version !== candidate)
      return { alias, action: 'unchanged', from: cur?.version ?? null, to: cur?.version ?? null, why: 'it no longer holds the candidate' };
    if (cur.frozen) return { alias, action: 'unchanged', from: candidate, to: candidate, why: 'it is frozen' };
    const last = await tx.aliases.previousVersion(model.id, alias);
    const target = last?.to_version === candidate ? last.from_version : null;
    if (target !== null && (await tx.versions.find(model.id, target))) {
      const p = await this.promotions.rollbackIn(tx, actor, model, alias, { reason: why, expect: candidate });
      return { alias, action: 'rolled_back', from: candidate, to: target, promotion: p.id };
    }
    if (!deleteWithoutPrevious) return { alias, action: 'unchanged', from: candidate, to: candidate, why: 'it held no earlier version to go back to' };
    await this.aliases.removeIn(tx, actor, ctx.now, model, alias, candidate, why);
    return { alias, action: 'deleted', from: candidate, to: null };
  }

  /**
   * A canary's completion moves the stable alias to the candidate: through a promotion when a
   * policy binds it (its gates apply; a refusal is stored and answered, the rollout stays), else
   * an alias move from the holder read here. A switch or a bake has moved its alias already.
   * With a bake configured, a bake rollout of the new stable starts in the same transaction.
   */
  private async complete(ctx: DecisionContext, current: RolloutRecord): Promise<{ rollout: RolloutRecord } | { refused: BerthError }> {
    const { tx, actor, dep, model } = ctx;
    const doc = dep.document;
    let stableBefore = current.stable_version;
    let moved: Record<string, unknown> | null = null;
    if (current.kind === 'canary') {
      const holder = (await tx.aliases.find(model.id, doc.stable))?.version ?? null;
      stableBefore = holder;
      if (holder !== current.candidate_version) {
        const why = `deployment ${dep.name}: canary of ${model.name}:${current.candidate_version} completed${ctx.decision.reason ? `: ${ctx.decision.reason}` : ''}`;
        const policy = await boundPolicy(tx, model.name, doc.stable);
        if (policy) {
          const p = await this.promotions.requestIn(tx, actor, model, { version: current.candidate_version, alias: doc.stable, expect: holder, reason: why });
          if (p.state === 'failed') return { refused: refusal(model.name, p) };
          if (p.state === 'pending') {
            return {
              refused: new BerthError(
                'FAILED_PRECONDITION',
                `promotion ${p.id} of ${model.name}:${p.version} to ${p.alias} passed its gates and awaits ${p.required_approvals} approval(s) (\`berth approve ${p.id}\`); the canary stays until ${p.alias} moves`,
                { promotion: p.id, state: p.state },
              ),
            };
          }
          moved = { alias: doc.stable, from: holder, to: current.candidate_version, promotion: p.id };
        } else {
          await this.aliases.moveIn(tx, actor, model, { alias: doc.stable, version: current.candidate_version, expect: holder }, why);
          moved = { alias: doc.stable, from: holder, to: current.candidate_version, promotion: null };
        }
      }
    }
    const done: RolloutRecord = { ...current, state: 'completed', weight: 100, updated_at: ctx.now, last_decision: ctx.decision };
    await this.swap(ctx, current, done);
    await this.record(ctx, 'deployment.completed', current, done, { alias: moved });
    if (current.kind === 'bake' || doc.bake_ms <= 0) return { rollout: done };
    const bake: RolloutRecord = {
      ...done,
      id: newRolloutId(ctx.now),
      kind: 'bake',
      stable_version: stableBefore,
      state: 'progressing',
      step: 0,
      weight: 100,
      started_at: ctx.now,
      step_started_at: ctx.now,
    };
    await this.swap(ctx, done, bake);
    await this.record(ctx, 'deployment.rollout_started', done, bake, { replaced: null });
    return { rollout: bake };
  }

  /** Replaces the current rollout by compare-and-swap; the loser of a race is told who won. */
  private async swap(ctx: DecisionContext, current: RolloutRecord, next: RolloutRecord): Promise<void> {
    if (await ctx.tx.deployments.swapRollout(current, next)) return;
    const now = (await ctx.tx.deployments.rollout(current.deployment)) ?? null;
    throw conflict(`rollout ${current.id} of deployment ${current.deployment} changed meanwhile: another gateway decided first; read it again`, {
      deployment: current.deployment,
      rollout: now ? toWireRollout(now) : null,
    });
  }

  private async record(
    ctx: DecisionContext,
    action: string,
    before: RolloutRecord | null,
    rollout: RolloutRecord,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const { decision } = ctx;
    await recordChange(ctx.tx, ctx.actor, ctx.now, {
      action,
      subject: { type: 'deployment', model: ctx.model, name: ctx.dep.name },
      before: before ? toWireRollout(before) : null,
      after: {
        rollout: toWireRollout(rollout),
        decision: decision.decision,
        gateway: decision.gateway,
        evidence: decision.evidence,
        ...extra,
      },
      reason: decision.reason,
    });
  }

  /**
   * Stores what a gateway served over [from, to). The audit trail gets a `deployment.served`
   * event only when the mix (versions, rounded weights, shadow flags) differs from the same
   * gateway's report before it: what ran is on record without a row per report interval.
   */
  async reportServed(actor: Actor, name: string, body: ServedReportBody): Promise<ServedRecord> {
    checkName(name);
    const first = await requireLive(this.deps.store.read, name);
    requireRole(actor, 'editor', 'reporting what a gateway served', (await modelRefOf(this.deps.store.read, first)).name);
    const from = parseInstant(body.from, 'from');
    const to = parseInstant(body.to, 'to');
    if (from >= to) throw invalid(`from (${body.from}) must be before to (${body.to})`, { field: 'from' });
    const seen = new Set<string>();
    for (const v of body.versions) {
      const key = `${v.version}${v.shadow ? ' (shadow)' : ''}`;
      if (seen.has(key)) throw invalid(`versions lists ${first.model}:${key} twice: report each version once per window`, { field: 'versions' });
      seen.add(key);
      if (v.errors > v.requests) throw invalid(`versions: ${first.model}:${key} has ${v.errors} errors in ${v.requests} requests`, { field: 'versions' });
    }
    const mix = mixOf(body.versions);
    return this.deps.store.transaction(async (tx) => {
      const dep = await requireLive(tx, name);
      const now = this.deps.clock.now();
      if (to > now + SERVED_FUTURE_MS) throw invalid(`to (${body.to}) is in the future: a report covers a window that has ended`, { field: 'to' });
      const rec: ServedRecord = {
        deployment: name,
        gateway: body.gateway,
        from,
        to,
        versions: body.versions,
        shadow: body.shadow ?? null,
        mix: canonicalJson(mix),
        received_at: now,
      };
      const previous = await tx.deployments.servedBefore(name, body.gateway, to);
      await tx.deployments.insertServed(rec);
      if (previous?.mix !== rec.mix) {
        await recordChange(tx, actor, now, {
          action: 'deployment.served',
          subject: { type: 'deployment', model: await modelRefOf(tx, dep), name },
          before: previous ? { gateway: previous.gateway, versions: JSON.parse(previous.mix) } : null,
          after: { gateway: body.gateway, from: isoTime(from), to: isoTime(to), versions: mix },
        });
      }
      return rec;
    });
  }

  /**
   * What the gateways served at `t`: the report of each gateway whose window holds it, and each
   * version's share of their requests (shadow copies counted apart from answered requests).
   * A deployment deleted since still answers for the time it existed.
   */
  /**
   * The rollout as it stood at `t`: the registry keeps only the current one, and every decision's
   * event carries the rollout it left, so the last such event at or before `t` (of the deployment
   * version then in force, filed under its model) holds it; a delete before it means none.
   */
  async rolloutAt(name: string, t: unknown): Promise<{ deployment: string; at: number; rollout: Rollout | null }> {
    checkName(name);
    const at = parseInstant(t, 'at');
    const tx = this.deps.store.read;
    let v = await tx.deployments.lastVersion(name);
    if (v === 0) throw unknownDeployment(name);
    let then: DeploymentRecord | undefined;
    for (; v > 0 && !then; v--) {
      const d = await tx.deployments.find(name, v);
      if (d && d.created_at <= at) then = d;
    }
    if (!then) return { deployment: name, at, rollout: null };
    const e = await tx.audit.lastOfSubjectAt(then.model_id, 'deployment', name, ROLLOUT_ACTIONS, at);
    const rollout = e && e.action !== 'deployment.deleted' ? ((e.after as { rollout?: Rollout } | null)?.rollout ?? null) : null;
    return { deployment: name, at, rollout };
  }

  async servedAt(name: string, t: unknown): Promise<ServedAtView> {
    checkName(name);
    const at = parseInstant(t, 'at');
    const tx = this.deps.store.read;
    if ((await tx.deployments.lastVersion(name)) === 0) throw unknownDeployment(name);
    const byGateway = new Map<string, ServedRecord>();
    for (const r of await tx.deployments.servedAt(name, at)) {
      const had = byGateway.get(r.gateway);
      if (!had || r.received_at >= had.received_at) byGateway.set(r.gateway, r);
    }
    const reports = [...byGateway.values()].sort((a, b) => a.gateway.localeCompare(b.gateway));
    const sums = new Map<string, { version: number; shadow: boolean; requests: number; weight: number }>();
    for (const r of reports) {
      for (const v of r.versions) {
        const key = `${v.version}:${v.shadow}`;
        const s = sums.get(key) ?? { version: v.version, shadow: v.shadow, requests: 0, weight: 0 };
        s.requests += v.requests;
        s.weight += v.weight;
        sums.set(key, s);
      }
    }
    const total = (shadow: boolean) => [...sums.values()].filter((s) => s.shadow === shadow).reduce((n, s) => n + s.requests, 0);
    const versions = [...sums.values()]
      // A version routed nothing and sent nothing ran nothing at T (a candidate listed at weight 0).
      .filter((s) => s.requests > 0 || s.weight > 0)
      .sort((a, b) => Number(a.shadow) - Number(b.shadow) || a.version - b.version)
      .map((s) => {
        const all = total(s.shadow);
        return { version: s.version, requests: s.requests, share: all === 0 ? 0 : s.requests / all, weight: s.weight / reports.length, shadow: s.shadow };
      });
    return { deployment: name, at, reports, versions };
  }

  /** The deployment, its aliases and rollout, and the latest report of each gateway heard from within the last minute. */
  async status(name: string): Promise<DeploymentStatusView> {
    checkName(name);
    const tx = this.deps.store.read;
    const deployment = await requireLive(tx, name);
    const model = await tx.models.findById(deployment.model_id);
    const since = this.deps.clock.now() - STATUS_RECENT_MS;
    const reports = new Map<string, ServedRecord>();
    for (const r of await tx.deployments.servedSince(name, since)) if (!reports.has(r.gateway)) reports.set(r.gateway, r);
    return {
      deployment,
      aliases: await aliasHolders(tx, model, deployment.document),
      rollout: (await tx.deployments.rollout(name)) ?? null,
      reports: [...reports.values()].sort((a, b) => a.gateway.localeCompare(b.gateway)),
    };
  }

  /**
   * The served reports whose window ended in [since, until] (either open), newest first and
   * paged: the history the UI charts latency, errors and quality over. Like "served at T", a
   * deployment deleted since still answers for the time it existed.
   */
  async listReports(name: string, opts: { since?: unknown; until?: unknown; cursor?: string; limit?: unknown }): Promise<ResultPage<ServedRecord>> {
    checkName(name);
    const since = opts.since === undefined ? null : parseInstant(opts.since, 'since');
    const until = opts.until === undefined ? null : parseInstant(opts.until, 'until');
    if (since !== null && until !== null && since > until) throw invalid(`since (${opts.since}) must not be after until (${opts.until})`, { field: 'since' });
    const keyset = new Keyset(opts, 'r', reportPosition);
    const tx = this.deps.store.read;
    if ((await tx.deployments.lastVersion(name)) === 0) throw unknownDeployment(name);
    const after = keyset.after === undefined ? undefined : { to: Number(keyset.after.split(':')[0]), id: Number(keyset.after.split(':')[1]) };
    const rows = await tx.deployments.listServed(name, { since, until, after, limit: keyset.fetch });
    const page = keyset.page(rows, (r) => `${r.to}:${r.id}`);
    return { items: page.items.map(({ id: _id, ...r }) => r), next_cursor: page.next_cursor };
  }
}

/** A report page's keyset position: `<window end ms>:<row id>`. */
function reportPosition(raw: string | number): string {
  if (typeof raw !== 'string' || !/^\d{1,15}:\d{1,15}$/.test(raw))
    throw invalid('invalid cursor: pass the next_cursor value of the previous page unchanged', { field: 'cursor' });
  return raw;
}

interface DecisionContext {
  tx: StoreTx;
  actor: Actor;
  dep: DeploymentRecord;
  model: ModelRecord;
  now: number;
  decision: RolloutDecisionRecord;
  body: RolloutDecisionBody;
}

/** The decision's own fields (the route's schema checks types; these are the rules between fields). */
function checkDecision(body: RolloutDecisionBody): void {
  if (!(ROLLOUT_DECISIONS as readonly string[]).includes(body.decision))
    throw invalid(`invalid decision ${JSON.stringify(body.decision)}: use one of ${ROLLOUT_DECISIONS.join(', ')}`, { field: 'decision' });
  checkVersionNumber(body.candidate_version, 'candidate_version');
  if (typeof body.gateway !== 'string' || body.gateway.length === 0) throw invalid('gateway must name the gateway deciding', { field: 'gateway' });
  if (body.decision === 'start') {
    if (body.kind === undefined || !(ROLLOUT_KINDS as readonly string[]).includes(body.kind))
      throw invalid(`start needs kind: one of ${ROLLOUT_KINDS.join(', ')}`, { field: 'kind' });
    if (body.stable_version !== undefined && body.stable_version !== null) checkVersionNumber(body.stable_version, 'stable_version');
    return;
  }
  if (typeof body.rollout_id !== 'string' || body.rollout_id.length === 0)
    throw invalid(`${body.decision} needs rollout_id: the rollout it was decided on`, { field: 'rollout_id' });
  if (typeof body.expect_step !== 'number' || !Number.isInteger(body.expect_step) || body.expect_step < 0)
    throw invalid(`${body.decision} needs expect_step: the step it was decided at`, { field: 'expect_step' });
}

/** The current rollout when it is the one the decision names, at its step, and still running; else CONFLICT with it. */
function expectRollout(name: string, current: RolloutRecord | null, body: RolloutDecisionBody): RolloutRecord {
  if (
    current &&
    current.id === body.rollout_id &&
    current.step === body.expect_step &&
    current.candidate_version === body.candidate_version &&
    ACTIVE.has(current.state)
  )
    return current;
  const now = current
    ? `rollout ${current.id} (${current.kind} of version ${current.candidate_version}) is ${current.state} at step ${current.step}`
    : 'no rollout is current';
  throw conflict(`deployment ${name}: ${now}, not rollout ${body.rollout_id} at step ${body.expect_step}: another decision came first; read it again`, {
    deployment: name,
    rollout: current ? toWireRollout(current) : null,
  });
}

function unknownDeployment(name: string): BerthError {
  return notFound(`deployment ${JSON.stringify(name)} not found: list deployments with \`berth deploy ls\``, { deployment: name });
}

async function requireLive(tx: StoreTx, name: string): Promise<DeploymentRecord> {
  const d = await tx.deployments.latest(name);
  if (!d) throw unknownDeployment(name);
  return d;
}

/** The model a deployment is filed under: by id, or, when the model is gone, under the name it had. */
async function modelRefOf(tx: StoreTx, dep: DeploymentRecord): Promise<ModelRef> {
  const m = await tx.models.findById(dep.model_id);
  return m ? { id: m.id, name: m.name } : { id: dep.model_id, name: dep.model };
}

/** Each alias the document names → the version it holds now (null: unset, or the model is gone). */
async function aliasHolders(tx: StoreTx, model: ModelRecord | undefined, doc: DeploymentDocument): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const alias of namedAliases(doc).keys()) out[alias] = model ? ((await tx.aliases.find(model.id, alias))?.version ?? null) : null;
  return out;
}
