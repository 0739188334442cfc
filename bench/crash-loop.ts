/**
 * The long crash loop (issue 8): 200 trials of kill -9 during push, commit, alias moves and GC,
 * on SQLite and on PostgreSQL; prints trials run and problems found (e2e/crash-loop.ts says
 * what is checked). PostgreSQL comes from BERTH_TEST_PG_URL, or a throwaway cluster is started
 * as `npm test` does (scripts/test/postgres.mjs). Exits non-zero when a problem was found.
 *   npm run bench -- crash-loop
 *   npm run bench -- crash-loop --trials 50 --db sqlite --seed 7
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createPgDatabase, dropPgDatabase, runCrashLoop, type CrashLoopResult } from '../e2e/crash-loop.js';
import { table, tempDir } from './lib.js';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '200' }, db: { type: 'string', default: 'both' }, seed: { type: 'string', default: '20261130' } },
});
const trials = Number(values.trials);
const seed = Number(values.seed);
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, not ${values.trials}`);
if (!['sqlite', 'postgres', 'both'].includes(values.db)) throw new Error(`--db is sqlite, postgres or both, not ${values.db}`);

interface PgModule {
  pgBinDir(): string | undefined;
  startPostgres(binDir: string, onCleanup: (fn: () => void) => void): Promise<string>;
}

const cleanups: (() => void)[] = [];
async function postgresUrl(): Promise<string> {
  if (process.env.BERTH_TEST_PG_URL) return process.env.BERTH_TEST_PG_URL;
  const pg = (await import('../scripts/test/postgres.mjs' as string)) as PgModule;
  const binDir = pg.pgBinDir();
  if (!binDir) throw new Error('BERTH_TEST_PG_URL is not set and no PostgreSQL server binaries were found (apt-get install postgresql)');
  return pg.startPostgres(binDir, (fn) => cleanups.push(fn));
}

const rows: (string | number)[][] = [
  ['database', 'trials', 'versions acked', 'alias moves acked', 'GC runs', 'moves in flight at kill', 'problems', 'seconds'],
];
const problems: string[] = [];
async function run(label: string, pgUrl?: string) {
  const { dir, cleanup } = await tempDir('berth-bench-crash-');
  const t0 = Date.now();
  let r: CrashLoopResult;
  try {
    r = await runCrashLoop({
      trials,
      data: dir,
      ...(pgUrl ? { pgUrl } : {}),
      seed,
      log: (line) => process.stdout.write(`\r${label}: ${line}   `),
    });
  } finally {
    await cleanup();
  }
  process.stdout.write('\n');
  rows.push([
    label,
    r.trials,
    r.versionsAcknowledged,
    r.aliasMovesAcknowledged,
    r.gcRuns,
    r.movesInFlightAtKill,
    r.problems.length,
    ((Date.now() - t0) / 1000).toFixed(0),
  ]);
  problems.push(...r.problems.map((p) => `${label}: ${p}`));
}

try {
  if (values.db !== 'postgres') await run('SQLite');
  if (values.db !== 'sqlite') {
    const base = await postgresUrl();
    const name = `berth_crash_${randomBytes(6).toString('hex')}`;
    const url = createPgDatabase(base, name);
    try {
      await run('PostgreSQL', url);
    } finally {
      dropPgDatabase(base, name);
    }
  }
} finally {
  for (const fn of cleanups.reverse()) fn();
}
console.log(table(rows));
for (const p of problems.slice(0, 50)) console.log(`  ${p}`);
if (problems.length > 50) console.log(`  … and ${problems.length - 50} more`);
console.log(`crash loop: ${rows.length - 1} database(s), ${problems.length} problems found (seed ${seed})`);
if (problems.length) process.exitCode = 1;
