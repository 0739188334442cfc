import { randomBytes } from 'node:crypto';
import {
  BerthError,
  evaluateGates,
  failingGateLines,
  invalid,
  isPolicyName,
  notContentAddressed,
  notFound,
  PROMOTION_STATES,
  type PolicyDocument,
  type PromotionState,
  validateAliasName,
  validateModelName,
  type GateEvidence,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { PolicyRecord } from '../store/policies.js';
import type { ApprovalRecord, PromotionRecord } from '../store/promotions.js';
import type { VersionRecord } from '../store/versions.js';
import { requireRole, type Actor } from './actor.js';
import { cleanReason, conflict, requireModel, requireVersion, type RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import { Keyset } from './paging.js';
import type { ResultPage } from './results.js';
import { assembleGateEvidence, notReady } from './evaluations-service.js';
import { boundPolicy, readPolicyText, requirePolicy } from './policies-service.js';

/** A promotion with its model's name and its approvals so far. */
export interface PromotionView extends PromotionRecord {
  model: string;
  approvals: ApprovalRecord[];
}

export interface PromotionRequest {
  version: number;
  alias?: string;
  policy?: string;
  /** The version the caller believes the alias holds (null: unset); undefined: no check. */
  expect?: number | null;
  reason?: string | null;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `prm_` + a ULID (26 characters: 48 bits of milliseconds, 80 random bits), so ids sort by creation time. */
function newPromotionId(now: number): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = Array.from(randomBytes(16), (b) => CROCKFORD[b % 32]).join('');
  return `prm_${time}${random}`;
}

function checkVersionNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) throw invalid(`${field} must be a positive version number`, { field });
  return v;
}

function checkState(state: string | undefined): void {
  if (state !== undefined && !(PROMOTION_STATES as readonly string[]).includes(state)) {
    throw invalid(`invalid state ${JSON.stringify(state)}: use one of ${PROMOTION_STATES.join(', ')}`, { field: 'state' });
  }
}

function checkPolicyName(name: string): void {
  if (!isPolicyName(name)) throw invalid(`invalid policy name ${JSON.stringify(name)}`, { field: 'policy' });
}

/** Why a promotion was refused: its failing gate lines, with the stored promotion and the full report. */
export function refusal(model: string, p: PromotionRecord): BerthError {
  const report = p.report ?? { passed: false, gates: [] };
  const header = `promotion ${p.id} of ${model}:${p.version} to ${p.alias} failed policy ${p.policy?.name} v${p.policy?.version}; ${p.alias} did not move:`;
  return new BerthError('FAILED_PRECONDITION', [header, ...failingGateLines(report)].join('\n'), { promotion: p.id, report });
}

/** The reason an alias move by a promotion records (a protected alias always records one). */
function moveReason(p: PromotionRecord, reason: string | null): string {
  if (reason) return reason;
  if (p.kind === 'rollback') return `rollback ${p.id}`;
  return `promotion ${p.id} under policy ${p.policy?.name} v${p.policy?.version}`;
}

/**
 * Gates vouch for bytes: an external version's may change under its URI after they pass, so no
 * gate judges one — neither a promotion nor the dry run `berth gate check` asks for.
 */
function gateable(name: string, version: VersionRecord): VersionRecord {
  if (!version.content_addressed)
    throw notContentAddressed(`${name}:${version.version}`, version.external_uri ?? '', 'no promotion can put it behind an alias under gates');
  return version;
}

export class PromotionService {
  constructor(private readonly deps: RegistryDeps) {}

  /**
   * What the gates of a policy not yet applied would read (POST …/gate-evidence with its YAML):
   * the same assembly, so `berth gate check --policy-file` judges exactly what a promotion would.
   * Stores nothing.
   */
  async draftEvidence(name: string, version: number, yaml: string): Promise<{ document: PolicyDocument; evidence: GateEvidence }> {
    validateModelName(name);
    checkVersionNumber(version, 'version');
    const document = readPolicyText(yaml);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const v = gateable(name, await requireVersion(tx, model, version));
    return { document, evidence: await assembleGateEvidence(tx, model, v, document) };
  }

  /** What the gates of `policy` read for a version (GET …/gate-evidence): the same assembly promotions use. */
  async evidence(name: string, version: number, policyName: string, policyVersion?: number): Promise<{ policy: PolicyRecord; evidence: GateEvidence }> {
    validateModelName(name);
    checkVersionNumber(version, 'version');
    checkPolicyName(policyName);
    if (policyVersion !== undefined) checkVersionNumber(policyVersion, 'policy_version');
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const v = gateable(name, await requireVersion(tx, model, version));
    const policy = await requirePolicy(tx, policyName, policyVersion);
    return { policy, evidence: await assembleGateEvidence(tx, model, v, policy.document) };
  }

  /**
   * Asks to move an alias to a version under a policy: the gates are evaluated on the evidence
   * read in the same transaction, the promotion and its report stored, and (when every gate
   * passes and no approval is wanted) the alias moved by compare-and-swap with its audit and
   * outbox rows. A refusal is stored too, then thrown as FAILED_PRECONDITION with the report.
   */
  async request(actor: Actor, name: string, input: PromotionRequest): Promise<PromotionView> {
    requireRole(actor, 'editor', 'requesting a promotion', name);
    validateModelName(name);
    checkVersionNumber(input.version, 'version');
    if (input.alias !== undefined) validateAliasName(input.alias);
    if (input.policy !== undefined) checkPolicyName(input.policy);
    if (input.expect !== undefined && input.expect !== null) checkVersionNumber(input.expect, 'expect');
    const reason = cleanReason(input.reason);
    const out = await this.deps.store.transaction(async (tx) => this.requestIn(tx, actor, await requireModel(tx, name), { ...input, reason }));
    if (out.state === 'failed') throw refusal(name, out);
    return out;
  }

  /**
   * Inside a caller's transaction, on checked input: the promotion evaluated, stored and (when it
   * passed) the alias moved. A failed promotion is returned stored, not thrown, so the caller
   * commits it and refuses afterwards with `refusal`.
   */
  async requestIn(tx: StoreTx, actor: Actor, model: ModelRecord, input: PromotionRequest): Promise<PromotionView> {
    const name = model.name;
    const reason = cleanReason(input.reason);
    const named = input.policy === undefined ? undefined : await requirePolicy(tx, input.policy);
    const alias = input.alias ?? named?.document.target_alias;
    if (alias === undefined) throw invalid('name the alias to promote to, or a policy (its target_alias is the default)', { field: 'alias' });
    const bound = await boundPolicy(tx, name, alias);
    if (bound && named && bound.name !== named.name) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${name}@${alias} is bound to policy ${bound.name}: promote under it (leave policy out, or name ${bound.name})`,
        {
          alias,
          policy: bound.name,
        },
      );
    }
    const policy = named ?? bound;
    if (!policy) throw invalid(`no policy is bound to ${name}@${alias}: name the policy to promote under`, { field: 'policy' });
    const version = await requireVersion(tx, model, input.version);
    if (version.status !== 'READY') throw notReady(name, version);
    gateable(name, version);
    const current = await this.holder(tx, model, alias, input.expect);
    const evidence = await assembleGateEvidence(tx, model, version, policy.document);
    const report = evaluateGates(policy.document, evidence);
    const now = this.deps.clock.now();
    const required = policy.document.require_approvals;
    const state: PromotionState = !report.passed ? 'failed' : required > 0 ? 'pending' : 'passed';
    const rec: PromotionRecord = {
      id: newPromotionId(now),
      model_id: model.id,
      version: version.version,
      alias,
      kind: 'promotion',
      state,
      previous_version: current,
      policy: { name: policy.name, version: policy.version, digest: policy.digest },
      report,
      required_approvals: required,
      requested_by: actor.name,
      reason,
      created_at: now,
      decided_at: state === 'pending' ? null : now,
    };
    await tx.promotions.insert(rec);
    await recordChange(tx, actor, now, {
      action: `promotion.${state}`,
      subject: { type: 'promotion', model, id: rec.id },
      after: { version: rec.version, alias, previous_version: current, policy: rec.policy, passed: report.passed, state },
      reason,
    });
    if (state === 'passed') await this.moveAlias(tx, actor, now, model, rec, reason);
    return { ...rec, model: model.name, approvals: [] };
  }

  /** The alias's holder now (null: unset); refuses a frozen alias and a failed `expect`. */
  private async holder(tx: StoreTx, model: ModelRecord, alias: string, expect: number | null | undefined): Promise<number | null> {
    const cur = await tx.aliases.find(model.id, alias);
    const current = cur?.version ?? null;
    if (cur?.frozen) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `alias ${model.name}@${alias} is frozen: unfreeze it with \`berth alias unfreeze ${model.name} ${alias}\` first`,
        {
          alias,
          frozen: true,
          current,
        },
      );
    }
    if (expect !== undefined && expect !== current) {
      throw conflict(
        `${alias} is ${current === null ? 'not set' : `at ${current}`} now (expected ${expect === null ? 'unset' : expect}); nothing was changed`,
        {
          alias,
          expected: expect,
          current,
        },
      );
    }
    return current;
  }

  /**
   * Moves the alias from the promotion's previous_version to its version by compare-and-swap,
   * recording the move with the promotion's id. The loser of a race gets CONFLICT naming the holder.
   */
  private async moveAlias(tx: StoreTx, actor: Actor, now: number, model: ModelRecord, p: PromotionRecord, reason: string | null): Promise<void> {
    const from = p.previous_version;
    if (from === p.version) return;
    const moved =
      from === null
        ? await tx.aliases.insert({ model_id: model.id, alias: p.alias, version: p.version, frozen: false, updated_by: actor.name, updated_at: now }).then(
            () => true,
            (err: unknown) => {
              if (err instanceof BerthError && err.code === 'ALREADY_EXISTS') return false;
              throw err;
            },
          )
        : await tx.aliases.compareAndSet(model.id, p.alias, from, p.version, actor.name, now);
    if (!moved) {
      const cur = await tx.aliases.find(model.id, p.alias);
      const current = cur?.version ?? null;
      throw conflict(
        `${p.alias} is ${current === null ? 'not set' : `at ${current}`} now (promotion ${p.id} expected ${from === null ? 'unset' : from}): another change moved it first; nothing was changed`,
        { alias: p.alias, expected: from, current },
      );
    }
    await recordChange(tx, actor, now, {
      action: 'alias.set',
      subject: { type: 'alias', model, alias: p.alias, from, to: p.version },
      after: { version: p.version, promotion: p.id },
      reason: moveReason(p, reason),
    });
  }

  async get(id: string): Promise<PromotionView> {
    const tx = this.deps.store.read;
    const { promotion, model } = await this.requirePromotion(tx, id);
    return { ...promotion, model: model.name, approvals: await tx.promotions.approvals(id) };
  }

  private async requirePromotion(tx: StoreTx, id: string, opts: { lock?: boolean } = {}): Promise<{ promotion: PromotionRecord; model: ModelRecord }> {
    const wellFormed = typeof id === 'string' && /^prm_[0-9A-Z]{26}$/.test(id);
    const promotion = wellFormed ? await (opts.lock ? tx.promotions.lock(id) : tx.promotions.find(id)) : undefined;
    const model = promotion && (await tx.models.findById(promotion.model_id));
    if (!promotion || !model)
      throw notFound(`promotion ${JSON.stringify(id)} not found: list promotions with \`berth promotions ls <model>\``, { promotion: id });
    return { promotion, model };
  }

  /** A model's promotions newest first, optionally of one alias or in one state. */
  async list(name: string, opts: { alias?: string; state?: string; cursor?: string; limit?: unknown }): Promise<ResultPage<PromotionView>> {
    validateModelName(name);
    if (opts.alias !== undefined) validateAliasName(opts.alias);
    checkState(opts.state);
    const keyset = new Keyset(opts, 'p', String);
    const before = keyset.after === undefined ? undefined : parsePosition(keyset.after);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const rows = await tx.promotions.listForModel(model.id, { alias: opts.alias, state: opts.state, before, limit: keyset.fetch });
    const page = keyset.page(rows, (p) => `${p.created_at}.${p.id}`);
    const approvals = await tx.promotions.approvalsOf(page.items.map((p) => p.id));
    return { items: page.items.map((p) => ({ ...p, model: model.name, approvals: approvals.get(p.id) ?? [] })), next_cursor: page.next_cursor };
  }

  /** Promotions of every model newest first, optionally of one alias or in one state (`pending`: what awaits approvers). */
  async listAll(opts: { alias?: string; state?: string; cursor?: string; limit?: unknown }): Promise<ResultPage<PromotionView>> {
    if (opts.alias !== undefined) validateAliasName(opts.alias);
    checkState(opts.state);
    const keyset = new Keyset(opts, 'p', String);
    const before = keyset.after === undefined ? undefined : parsePosition(keyset.after);
    const tx = this.deps.store.read;
    const rows = await tx.promotions.listAll({ alias: opts.alias, state: opts.state, before, limit: keyset.fetch });
    const page = keyset.page(rows, (p) => `${p.created_at}.${p.id}`);
    const approvals = await tx.promotions.approvalsOf(page.items.map((p) => p.id));
    return { items: page.items.map((p) => ({ ...p, approvals: approvals.get(p.id) ?? [] })), next_cursor: page.next_cursor };
  }

  /**
   * One approval of a pending promotion. Approvers are distinct and never the requester; an
   * approval when the alias moved since the request is refused and the promotion becomes
   * stale. The Nth approval moves the alias (compare-and-swap from the holder at request time).
   */
  async approve(actor: Actor, id: string, reason?: string | null): Promise<PromotionView> {
    const first = await this.requirePromotion(this.deps.store.read, id);
    requireRole(actor, 'approver', 'approving a promotion', first.model.name);
    if (first.promotion.requested_by === actor.name) {
      throw new BerthError('PERMISSION_DENIED', `${actor.name} requested promotion ${id} and cannot approve it: approvals come from someone else`, {
        promotion: id,
      });
    }
    const why = cleanReason(reason);
    const out = await this.deps.store.transaction(async (tx) => {
      const { promotion: p, model } = await this.requirePromotion(tx, id, { lock: true });
      this.requirePending(p);
      const now = this.deps.clock.now();
      const cur = await tx.aliases.find(model.id, p.alias);
      const current = cur?.version ?? null;
      if (current !== p.previous_version) {
        await tx.promotions.decide(id, 'pending', 'stale', now);
        await recordChange(tx, actor, now, {
          action: 'promotion.stale',
          subject: { type: 'promotion', model, id },
          after: { alias: p.alias, expected: p.previous_version, current },
          reason: why,
        });
        return { stale: { promotion: p, current } };
      }
      await tx.promotions.approve(id, { by: actor.name, at: now, reason: why });
      const approvals = await tx.promotions.approvals(id);
      await recordChange(tx, actor, now, {
        action: 'promotion.approved',
        subject: { type: 'promotion', model, id },
        after: { approver: actor.name, approvals: approvals.length, required: p.required_approvals },
        reason: why,
      });
      let state: PromotionState = 'pending';
      if (approvals.length >= p.required_approvals) {
        if (!(await tx.promotions.decide(id, 'pending', 'passed', now))) throw conflict(`promotion ${id} was decided meanwhile`, { promotion: id });
        await recordChange(tx, actor, now, {
          action: 'promotion.passed',
          subject: { type: 'promotion', model, id },
          after: { version: p.version, alias: p.alias, previous_version: p.previous_version, policy: p.policy, approvals: approvals.map((a) => a.by) },
          reason: why,
        });
        await this.moveAlias(tx, actor, now, model, p, p.reason);
        state = 'passed';
      }
      return { view: { ...p, state, decided_at: state === 'passed' ? now : null, model: model.name, approvals } };
    });
    if (out.stale) {
      const { promotion: p, current } = out.stale;
      throw conflict(
        `${p.alias} is ${current === null ? 'not set' : `at ${current}`} now, not ${p.previous_version ?? 'unset'} as when promotion ${id} was requested: the promotion is stale and was not approved; request a new one`,
        { alias: p.alias, expected: p.previous_version, current, promotion: id },
      );
    }
    return out.view;
  }

  private requirePending(p: PromotionRecord): void {
    if (p.state !== 'pending') {
      throw new BerthError('FAILED_PRECONDITION', `promotion ${p.id} is ${p.state}, not pending: only a pending promotion is approved or rejected`, {
        promotion: p.id,
        state: p.state,
      });
    }
  }

  async reject(actor: Actor, id: string, reason?: string | null): Promise<PromotionView> {
    const first = await this.requirePromotion(this.deps.store.read, id);
    requireRole(actor, 'approver', 'rejecting a promotion', first.model.name);
    const why = cleanReason(reason);
    return this.deps.store.transaction(async (tx) => {
      const { promotion: p, model } = await this.requirePromotion(tx, id, { lock: true });
      this.requirePending(p);
      const now = this.deps.clock.now();
      if (!(await tx.promotions.decide(id, 'pending', 'rejected', now))) throw conflict(`promotion ${id} was decided meanwhile`, { promotion: id });
      await recordChange(tx, actor, now, {
        action: 'promotion.rejected',
        subject: { type: 'promotion', model, id },
        after: { state: 'rejected' },
        reason: why,
      });
      return { ...p, state: 'rejected' as const, decided_at: now, model: model.name, approvals: await tx.promotions.approvals(id) };
    });
  }

  /**
   * Moves an alias back to the version it held before its current holder (alias history), as
   * a promotion of kind rollback: no gates (that version already served), a reason required.
   */
  async rollback(actor: Actor, name: string, alias: string, input: { reason: string; expect?: number }): Promise<PromotionView> {
    requireRole(actor, 'approver', 'rolling back an alias', name);
    validateModelName(name);
    validateAliasName(alias);
    const reason = cleanReason(input.reason);
    if (reason === null) throw invalid('a rollback needs a reason: say why the current version goes', { field: 'reason' });
    if (input.expect !== undefined) checkVersionNumber(input.expect, 'expect');
    return this.deps.store.transaction(async (tx) => this.rollbackIn(tx, actor, await requireModel(tx, name), alias, { reason, expect: input.expect }));
  }

  /**
   * Inside a caller's transaction, on checked input (a deployment's abort rolls its alias back
   * in the transaction that aborts the rollout): the rollback promotion stored and the alias
   * moved back, audited. Refuses a frozen alias, an unset one, and one with no version to go back to.
   */
  async rollbackIn(tx: StoreTx, actor: Actor, model: ModelRecord, alias: string, input: { reason: string; expect?: number }): Promise<PromotionView> {
    const name = model.name;
    const reason = input.reason;
    const current = await this.holder(tx, model, alias, input.expect);
    if (current === null) throw new BerthError('FAILED_PRECONDITION', `${name}@${alias} is not set: there is nothing to roll back`, { alias });
    const last = await tx.aliases.previousVersion(model.id, alias);
    const target = last?.to_version === current ? last.from_version : null;
    if (target === null) {
      throw new BerthError('FAILED_PRECONDITION', `${name}@${alias} had no holder before ${current}: there is no version to roll back to`, {
        alias,
        current,
      });
    }
    const version = await tx.versions.find(model.id, target);
    if (!version) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${name}@${alias} was at ${target} before ${current}, but ${name}:${target} was deleted: set the alias instead`,
        {
          alias,
          current,
          version: target,
        },
      );
    }
    const now = this.deps.clock.now();
    const rec: PromotionRecord = {
      id: newPromotionId(now),
      model_id: model.id,
      version: target,
      alias,
      kind: 'rollback',
      state: 'passed',
      previous_version: current,
      policy: null,
      report: null,
      required_approvals: 0,
      requested_by: actor.name,
      reason,
      created_at: now,
      decided_at: now,
    };
    await tx.promotions.insert(rec);
    await recordChange(tx, actor, now, {
      action: 'promotion.rolled_back',
      subject: { type: 'promotion', model, id: rec.id },
      after: { version: target, alias, previous_version: current },
      reason,
    });
    await this.moveAlias(tx, actor, now, model, rec, reason);
    return { ...rec, model: model.name, approvals: [] };
  }

  /** Whether a policy is bound to name@alias (AliasService asks before every move). */
  async boundPolicyName(name: string, alias: string): Promise<string | undefined> {
    return (await boundPolicy(this.deps.store.read, name, alias))?.name;
  }
}

function parsePosition(raw: string): { created_at: number; id: string } {
  const dot = raw.indexOf('.');
  const createdAt = Number(raw.slice(0, dot));
  if (dot < 1 || !Number.isInteger(createdAt)) throw invalid('invalid cursor', { field: 'cursor' });
  return { created_at: createdAt, id: raw.slice(dot + 1) };
}
