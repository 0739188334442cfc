import type { Kysely, Selectable } from 'kysely';
import type { Database, UploadsTable } from './schema.js';

const CHUNK = 500;

export class UploadRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(id: string, sha256s: readonly string[], actor: string, at: number, expiresAt: number): Promise<void> {
    await this.db.insertInto('uploads').values({ id, created_by: actor, created_at: at, expires_at: expiresAt }).execute();
    const distinct = [...new Set(sha256s)];
    for (let i = 0; i < distinct.length; i += CHUNK) {
      await this.db
        .insertInto('upload_blobs')
        .values(distinct.slice(i, i + CHUNK).map((sha256) => ({ upload_id: id, sha256 })))
        .execute();
    }
  }

  async find(id: string): Promise<Pick<Selectable<UploadsTable>, 'id' | 'expires_at'> | undefined> {
    const r = await this.db.selectFrom('uploads').select(['id', 'expires_at']).where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, expires_at: Number(r.expires_at) };
  }

  /** Whether upload session `id` lists this blob. */
  async holds(id: string, sha256: string): Promise<boolean> {
    const r = await this.db.selectFrom('upload_blobs').select('sha256').where('upload_id', '=', id).where('sha256', '=', sha256).executeTakeFirst();
    return r !== undefined;
  }

  async close(id: string): Promise<void> {
    await this.db.deleteFrom('upload_blobs').where('upload_id', '=', id).execute();
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  /** Which of these blobs an upload session that is still open at `now` lists. */
  async protectedAmong(sha256s: readonly string[], now: number): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < sha256s.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('upload_blobs as b')
        .innerJoin('uploads as u', 'u.id', 'b.upload_id')
        .select('b.sha256')
        .distinct()
        .where('b.sha256', 'in', sha256s.slice(i, i + CHUNK))
        .where('u.expires_at', '>', now)
        .execute();
      for (const r of rows) out.add(r.sha256);
    }
    return out;
  }

  async deleteExpired(now: number): Promise<number> {
    const expired = await this.db.selectFrom('uploads').select('id').where('expires_at', '<=', now).execute();
    for (const { id } of expired) await this.close(id);
    return expired.length;
  }
}
