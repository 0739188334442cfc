import { randomBytes } from 'node:crypto';
import { isoTime, type Rollout } from '@berth/core';
import type { RolloutRecord } from '../store/deployments.js';

/** `rol_` + time and randomness: unique, and sorting roughly by start. */
export function newRolloutId(now: number): string {
  return `rol_${now.toString(36).padStart(9, '0')}${randomBytes(10).toString('hex')}`;
}

/** The rollout as the wire carries it (answers, and CONFLICT details so a losing gateway sees the winner's rollout). */
export function toWireRollout(r: RolloutRecord): Rollout {
  return {
    id: r.id,
    deployment: r.deployment,
    kind: r.kind,
    stable_version: r.stable_version,
    candidate_version: r.candidate_version,
    state: r.state,
    step: r.step,
    weight: r.weight,
    started_at: isoTime(r.started_at),
    step_started_at: isoTime(r.step_started_at),
    updated_at: isoTime(r.updated_at),
    last_decision: r.last_decision === null ? null : { ...r.last_decision, at: isoTime(r.last_decision.at) },
  };
}
