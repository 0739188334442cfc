import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createPgDatabase, dropPgDatabase, runCrashLoop } from './crash-loop.js';
import { tempDir } from './support.js';

/** A few trials of the crash loop (bench/crash-loop.ts runs 200); BERTH_CRASH_TRIALS runs more. */
const TRIALS = Number(process.env.BERTH_CRASH_TRIALS ?? 5);

describe('crash loop: kill -9 during push, commit, alias moves and GC', () => {
  it(`loses nothing acknowledged and leaves a valid audit chain on SQLite (${TRIALS} trials)`, async () => {
    const { dir, cleanup } = await tempDir('berth-crash-loop-');
    try {
      const r = await runCrashLoop({ trials: TRIALS, data: dir, seed: 1 });
      console.log(
        `crash loop on SQLite: ${r.trials} trials, ${r.versionsAcknowledged} versions and ${r.aliasMovesAcknowledged} alias moves acknowledged, ${r.gcRuns} GC runs, ${r.problems.length} problems`,
      );
      assert.deepEqual(r.problems, []);
      assert.equal(r.trials, TRIALS);
      assert.ok(r.versionsAcknowledged > 0, 'the workload committed nothing before the kills: the loop tested nothing');
    } finally {
      await cleanup();
    }
  });

  it(`loses nothing acknowledged and leaves a valid audit chain on PostgreSQL (${TRIALS} trials)`, async (t) => {
    const base = process.env.BERTH_TEST_PG_URL;
    if (!base) {
      if (process.env.BERTH_REQUIRE_ALL === '1') throw new Error('PostgreSQL is required (BERTH_REQUIRE_ALL=1) but BERTH_TEST_PG_URL is not set');
      t.skip('BERTH_TEST_PG_URL is not set (npm test starts a throwaway PostgreSQL when its binaries are installed; see docs/testing.md)');
      return;
    }
    const { dir, cleanup } = await tempDir('berth-crash-loop-pg-');
    const name = `berth_crash_${randomBytes(6).toString('hex')}`;
    const pgUrl = createPgDatabase(base, name);
    try {
      const r = await runCrashLoop({ trials: TRIALS, data: dir, pgUrl, seed: 2 });
      console.log(
        `crash loop on PostgreSQL: ${r.trials} trials, ${r.versionsAcknowledged} versions and ${r.aliasMovesAcknowledged} alias moves acknowledged, ${r.gcRuns} GC runs, ${r.problems.length} problems`,
      );
      assert.deepEqual(r.problems, []);
      assert.ok(r.versionsAcknowledged > 0, 'the workload committed nothing before the kills: the loop tested nothing');
    } finally {
      dropPgDatabase(base, name);
      await cleanup();
    }
  });
});
