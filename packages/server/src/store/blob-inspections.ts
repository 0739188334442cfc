import type { Kysely } from 'kysely';
import type { BlobInspection } from '@berth/core';
import type { Database } from './schema.js';
import { parseJson } from './json.js';

/** Inspections of blobs by sha256 (migration 0009). */
export class BlobInspectionRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Idempotent: the same bytes inspect the same, so a second upload of a blob just rewrites its row. */
  async set(sha256: string, inspection: BlobInspection, at: number): Promise<void> {
    const row = { sha256, format: inspection.format, inspection: JSON.stringify(inspection), inspected_at: at };
    await this.db
      .insertInto('blob_inspections')
      .values(row)
      .onConflict((oc) => oc.column('sha256').doUpdateSet({ format: row.format, inspection: row.inspection, inspected_at: at }))
      .execute();
  }

  /** The inspections of those of `sha256s` that have one. */
  async findMany(sha256s: readonly string[]): Promise<Map<string, BlobInspection>> {
    const found = new Map<string, BlobInspection>();
    // Chunked: SQLite caps bound parameters per statement.
    for (let i = 0; i < sha256s.length; i += 500) {
      const rows = await this.db
        .selectFrom('blob_inspections')
        .select(['sha256', 'inspection'])
        .where('sha256', 'in', sha256s.slice(i, i + 500))
        .execute();
      for (const r of rows) {
        const parsed = parseJson<BlobInspection | null>(r.inspection, null);
        if (parsed) found.set(r.sha256, parsed);
      }
    }
    return found;
  }
}
