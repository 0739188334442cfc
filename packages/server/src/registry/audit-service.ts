import { ChainVerifier, parseInstant, validateModelName, type ChainVerdict } from '@berth/core';
import { Keyset } from './paging.js';
import type { RegistryDeps } from './deps.js';
import type { AuditRecord, ResultPage } from './results.js';

export class AuditService {
  constructor(private readonly deps: RegistryDeps) {}

  async list(opts: {
    model?: string;
    action?: string;
    actor?: string;
    since?: unknown;
    until?: unknown;
    cursor?: string;
    limit?: unknown;
  }): Promise<ResultPage<AuditRecord>> {
    const keyset = new Keyset(opts, 's', Number);
    const since = opts.since !== undefined && opts.since !== '' ? parseInstant(opts.since, 'since') : undefined;
    const until = opts.until !== undefined && opts.until !== '' ? parseInstant(opts.until, 'until') : undefined;
    const tx = this.deps.store.read;
    let modelId: number | undefined;
    if (opts.model) {
      validateModelName(opts.model);
      const m = await tx.models.findByName(opts.model);
      if (m) modelId = m.id;
      else {
        const ids = await tx.audit.modelIdsNamed(opts.model, this.deps.clock.now());
        if (ids.length === 0) return { items: [], next_cursor: null };
        modelId = Math.max(...ids);
      }
    }
    // An empty filter field (a cleared form input) means no filter, as for since/until.
    const action = opts.action || undefined;
    const actor = opts.actor || undefined;
    return keyset.page(await tx.audit.list({ modelId, action, actor, since, until, afterSeq: keyset.after, limit: keyset.fetch }), (e) => e.seq);
  }

  /** Walks the whole chain in pages; memory stays flat however long the trail is. */
  async verify(): Promise<ChainVerdict> {
    const tx = this.deps.store.read;
    const head = await tx.audit.head();
    const v = new ChainVerifier();
    let after = 0;
    for (;;) {
      const rows = await tx.audit.list({ afterSeq: after, limit: 5000 });
      if (rows.length === 0) break;
      let ok = true;
      for (const r of rows) {
        if (r.seq > head.seq) break;
        if (!v.push(r)) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
      after = rows[rows.length - 1]!.seq;
      if (after >= head.seq) break;
    }
    return v.verdict(head);
  }
}
