import type { AuditEvent, Version } from '@berth/core';

/** The fields of a version that change after it is READY (DESIGN §2); its files, digest and dependencies never do. */
export type Editable = Pick<Version, 'description' | 'metadata' | 'tags' | 'stage'>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The editable fields of version `subject` (`name:N`) as they were at a time T, from its state
 * now and the audit events after T (oldest first): the first `version.update` after T holds in
 * its `before` the description, metadata and tags of T, and the first `version.stage` the stage.
 * A field no later event touched is as it is now.
 */
export function editableAt(now: Editable, subject: string, eventsAfter: readonly AuditEvent[]): Editable {
  const out: Editable = { description: now.description, metadata: now.metadata, tags: now.tags, stage: now.stage };
  let content = false;
  let stage = false;
  for (const e of eventsAfter) {
    if (e.subject !== subject || !isRecord(e.before)) continue;
    if (e.action === 'version.update' && !content) {
      content = true;
      if (typeof e.before.description === 'string') out.description = e.before.description;
      if (isRecord(e.before.metadata)) out.metadata = e.before.metadata;
      if (isRecord(e.before.tags)) out.tags = e.before.tags as Record<string, string>;
    } else if (e.action === 'version.stage' && !stage) {
      stage = true;
      if (typeof e.before.stage === 'string') out.stage = e.before.stage as Editable['stage'];
    }
  }
  return out;
}

/** A promotion's state at T: one decided after T was still pending then. */
export function promotionStateAt(p: { state: string; decided_at: string | null }, at: string | null): string {
  if (at && p.decided_at && Date.parse(p.decided_at) > Date.parse(at)) return 'pending';
  return p.state;
}

/** Whether an instant is at or before `at` (always, when `at` is null: now). */
export function existedAt(iso: string, at: string | null): boolean {
  return at === null || Date.parse(iso) <= Date.parse(at);
}
