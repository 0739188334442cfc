import { BerthError, eventTypeOf, type BerthEvent } from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { AuditRecord, SubjectType } from '../store/audit.js';
import type { Actor } from './actor.js';
import type { RolloutRecord } from '../store/deployments.js';
import { newRolloutId, toWireRollout } from './rollout-records.js';

/** The model a change belongs to, by id (which survives renames) and by its name at the time. */
export interface ModelRef {
  id: number;
  name: string;
}

/**
 * What a change touched. The audit subject (and the model it is filed under) follows from it,
 * so every event about the same kind of thing is named the same way.
 */
export type ChangeSubject =
  | { type: 'model'; model: ModelRef }
  | { type: 'version'; model: ModelRef; version: number }
  /** An alias moving from one version to another (null: unset before, or deleted). */
  | { type: 'alias'; model: ModelRef; alias: string; from: number | null; to: number | null }
  | { type: 'experiment'; id: string }
  | { type: 'run'; id: string }
  | { type: 'logged_model'; id: string }
  /** A promotion of a version to an alias (its id), filed under the model. */
  | { type: 'promotion'; model: ModelRef; id: string }
  | { type: 'policy'; name: string }
  /** A deployment (its name), filed under the model it routes. */
  | { type: 'deployment'; model: ModelRef; name: string }
  | { type: 'token'; name: string }
  | { type: 'webhook'; id: string }
  | { type: 'system'; name: string };

export interface Change {
  action: string;
  subject: ChangeSubject;
  /** For an alias, `{ version }` of `from` and `to` unless given. */
  before?: unknown;
  after?: unknown;
  reason?: string | null;
}

function auditSubject(s: ChangeSubject): { subject_type: SubjectType; subject: string; model: ModelRef | null } {
  switch (s.type) {
    case 'model':
      return { subject_type: 'model', subject: s.model.name, model: s.model };
    case 'version':
      return { subject_type: 'version', subject: `${s.model.name}:${s.version}`, model: s.model };
    case 'alias':
      return { subject_type: 'alias', subject: `${s.model.name}@${s.alias}`, model: s.model };
    // Tracking entities are filed as runs: the audit trail predates experiments and logged models.
    case 'experiment':
      return { subject_type: 'run', subject: `experiment:${s.id}`, model: null };
    case 'run':
    case 'logged_model':
      return { subject_type: 'run', subject: s.id, model: null };
    case 'promotion':
      return { subject_type: 'promotion', subject: s.id, model: s.model };
    case 'policy':
      return { subject_type: 'policy', subject: s.name, model: null };
    case 'deployment':
      return { subject_type: 'deployment', subject: s.name, model: s.model };
    case 'token':
      return { subject_type: 'token', subject: s.name, model: null };
    case 'webhook':
      return { subject_type: 'webhook', subject: s.id, model: null };
    case 'system':
      return { subject_type: 'system', subject: s.name, model: null };
  }
}

function versionOrNull(v: number | null): { version: number } | null {
  return v === null ? null : { version: v };
}

/**
 * The event subscribers get for a recorded change. Alias events name the alias, the previous
 * and the new version, and the promotion that moved it (a promotion passes `after.promotion`);
 * deployment events name the deployment and lift the fields of `after` into data.
 */
function eventOf(e: AuditRecord, s: ChangeSubject): BerthEvent {
  let data: Record<string, unknown>;
  if (s.type === 'alias') {
    const after = e.after as { promotion?: unknown } | null;
    data = { alias: s.alias, previous_version: s.from, version: s.to, promotion: after?.promotion ?? null, before: e.before, after: e.after };
  } else if (s.type === 'version') {
    data = { version: s.version, before: e.before, after: e.after };
  } else if (s.type === 'deployment') {
    // A rollout decision's `after` is {rollout, decision, evidence}: subscribers read them at the top of data.
    const fields = e.after !== null && typeof e.after === 'object' && !Array.isArray(e.after) ? (e.after as Record<string, unknown>) : {};
    data = { ...fields, deployment: s.name, before: e.before, after: e.after };
  } else {
    data = { before: e.before, after: e.after };
  }
  return {
    seq: e.seq,
    type: eventTypeOf(e.action),
    timestamp: new Date(e.at).toISOString(),
    actor: e.actor,
    model: e.model,
    subject: e.subject,
    reason: e.reason,
    data,
  };
}

/**
 * Records a state change inside the transaction that makes it: the audit event (the hash
 * chain, and time travel over models through their snapshots) and, for an alias, its history
 * row (time travel over aliases), and the outbox row subscribers are told from (webhooks, the
 * event stream). Every service records its changes through here and nowhere else, so nothing
 * that changes state can be missed by the audit trail or by subscribers.
 */
export async function recordChange(tx: StoreTx, actor: Actor, at: number, change: Change): Promise<AuditRecord> {
  const s = change.subject;
  const { subject_type, subject, model } = auditSubject(s);
  const reason = change.reason ?? null;
  const before = change.before !== undefined ? change.before : s.type === 'alias' ? versionOrNull(s.from) : null;
  const after = change.after !== undefined ? change.after : s.type === 'alias' ? versionOrNull(s.to) : null;
  const e = await tx.audit.append({
    at,
    actor: actor.name,
    action: change.action,
    model_id: model?.id ?? null,
    model: model?.name ?? null,
    subject_type,
    subject,
    before,
    after,
    reason,
  });
  await tx.events.append(eventOf(e, s), at);
  if (s.type === 'alias') {
    await tx.aliases.appendHistory({
      seq: e.seq,
      model_id: s.model.id,
      alias: s.alias,
      action: change.action,
      from_version: s.from,
      to_version: s.to,
      actor: actor.name,
      at,
      reason,
    });
    if (s.to !== null && s.to !== s.from) await startBlueGreenSwitches(tx, actor, at, s);
  }
  return e;
}

/**
 * A blue-green deployment switches only once its new side is warm (DESIGN §2): so the move of
 * its stable alias starts the switch in the same transaction, and no gateway, restarted or
 * not, ever reads the moved alias without the rollout that keeps traffic on the side serving
 * until then. Moving the alias back to that side before the switch ends the rollout instead.
 */
async function startBlueGreenSwitches(tx: StoreTx, actor: Actor, at: number, s: Extract<ChangeSubject, { type: 'alias' }>): Promise<void> {
  for (const dep of await tx.deployments.liveOfModel(s.model.id)) {
    if (dep.document.strategy !== 'blue-green' || dep.document.stable !== s.alias) continue;
    const current = (await tx.deployments.rollout(dep.name)) ?? null;
    // A failed bake's rollback returns to the side that served until just now: it switches at once.
    if (current?.kind === 'bake' && current.state === 'aborted' && current.candidate_version === s.from && current.stable_version === s.to) continue;
    const switching = current?.kind === 'blue-green';
    // The side clients get now: a switch not (yet) completed still serves its old side.
    const serving = switching && current.state !== 'completed' ? current.stable_version : s.from;
    const active = current !== null && (current.state === 'progressing' || current.state === 'held');
    const decision = (name: string, reason: string) => ({
      decision: name,
      at,
      gateway: 'registry',
      reason,
      evidence: { alias: s.alias, from: s.from, to: s.to },
    });
    let next: RolloutRecord;
    let action: string;
    if (serving === s.to) {
      if (!active || !switching) continue;
      const reason = `${s.model.name}@${s.alias} moved back to ${s.to}, which still serves, before the switch to ${current.candidate_version}`;
      next = { ...current, state: 'aborted', weight: 0, updated_at: at, last_decision: decision('abort', reason) };
      action = 'deployment.aborted';
    } else {
      const reason = `${s.model.name}@${s.alias} moved to ${s.to}: ${s.model.name}:${s.to} warms before the switch`;
      next = {
        id: newRolloutId(at),
        deployment: dep.name,
        kind: 'blue-green',
        stable_version: serving,
        candidate_version: s.to as number,
        state: 'progressing',
        step: 0,
        weight: 0,
        started_at: at,
        step_started_at: at,
        updated_at: at,
        last_decision: decision('start', reason),
      };
      action = 'deployment.rollout_started';
    }
    if (current) {
      if (!(await tx.deployments.swapRollout(current, next)))
        throw new BerthError('CONFLICT', `the rollout of deployment ${dep.name} changed meanwhile: move ${s.model.name}@${s.alias} again`, {
          deployment: dep.name,
        });
    } else await tx.deployments.insertRollout(next);
    await recordChange(tx, actor, at, {
      action,
      subject: { type: 'deployment', model: s.model, name: dep.name },
      before: current ? toWireRollout(current) : null,
      after: {
        rollout: toWireRollout(next),
        decision: next.last_decision?.decision,
        gateway: 'registry',
        evidence: next.last_decision?.evidence ?? {},
        replaced: current && active ? toWireRollout(current) : null,
      },
      reason: next.last_decision?.reason ?? null,
    });
  }
}
