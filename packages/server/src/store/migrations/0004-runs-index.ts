import type { Kysely } from 'kysely';
import type { DialectName } from '../schema.js';

/** `runs/search` names its experiments and orders by start time, newest first: serve both from one index. */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.createIndex('runs_experiment_start').on('runs').columns(['experiment_id', 'start_time']).execute();
}
