import type { AuditEvent } from '@berth/core';
import { client } from '../../api';

/**
 * For each version subject (`name:N`) of `model`, the first `version.update` and the first
 * `version.stage` audit event after `at`: their `before` holds the description, metadata, tags
 * and stage of then (`editableAt` reads them). One paged audit read per action (both at once), filtered by the
 * model and the action, stopping as soon as every subject has its own.
 */
export async function editsAfter(model: string, at: string, subjects: readonly string[]): Promise<AuditEvent[]> {
  const firstOfEach = async (action: string) => {
    const out: AuditEvent[] = [];
    const missing = new Set(subjects);
    let cursor: string | undefined;
    while (missing.size > 0) {
      const page = await client().listAudit({ model, action, since: at, limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const e of page.items) if (missing.delete(e.subject)) out.push(e);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return out;
  };
  return (await Promise.all([firstOfEach('version.update'), firstOfEach('version.stage')])).flat();
}
