import type { Kysely, Selectable } from 'kysely';
import type { BerthEvent } from '@berth/core';
import type { Database, EventsTable } from './schema.js';
import { toJson } from './json.js';

/** An outbox row with its payload parsed. */
export interface EventRecord {
  seq: number;
  at: number;
  type: string;
  model: string | null;
  event: BerthEvent;
}

function toRecord(row: Selectable<EventsTable>): EventRecord {
  return { seq: Number(row.seq), at: Number(row.at), type: row.type, model: row.model, event: JSON.parse(row.payload) as BerthEvent };
}

/** The outbox (migration 0005): append inside the changing transaction, read in seq order. */
export class EventRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async append(e: BerthEvent, at: number): Promise<void> {
    await this.db
      .insertInto('events')
      .values({ seq: e.seq, at, type: e.type, model: e.model, payload: toJson(e) })
      .execute();
  }

  /** Events after `seq`, oldest first, at most `limit`. */
  async after(seq: number, limit: number): Promise<EventRecord[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute();
    return rows.map(toRecord);
  }

  async find(seq: number): Promise<EventRecord | undefined> {
    const row = await this.db.selectFrom('events').selectAll().where('seq', '=', seq).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** The newest event's seq (0 when there is none). */
  async last(): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return row?.seq == null ? 0 : Number(row.seq);
  }
}
