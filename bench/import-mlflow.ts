/**
 * `berth import mlflow` of N registered-model versions (default 1,000; each a 16 KiB file and a
 * small one, 100 versions to a run) from a real `mlflow server` (.venv-compat, SQLite,
 * --serve-artifacts), against the rate that server serves the same versions to its own client
 * (`mlflow.artifacts.download_artifacts("models:/NAME/V")`, one after another as a script
 * would). Both in the same run, on the same server. Target (issue 11): the import is faster.
 *   npx tsx bench/import-mlflow.ts [N]
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mlflowMissing, seedMlflow, startMlflow } from '../e2e/import-mlflow/mlflow-server.js';
import { berth, fmt, startBerth, table, tempDir } from './lib.js';

const n = Number(process.argv[2] ?? 1000);
if (!Number.isInteger(n) || n < 1) throw new Error(`usage: npx tsx bench/import-mlflow.ts [N versions], not ${process.argv[2]}`);
const missing = mlflowMissing();
if (missing) throw new Error(`bench/import-mlflow.ts needs the MLflow server: ${missing}`);

const { dir, cleanup } = await tempDir('berth-bench-import-mlflow-');
const mlflow = await startMlflow(join(dir, 'mlflow'));
const srv = await startBerth(join(dir, 'berth'));
try {
  let t = performance.now();
  seedMlflow(mlflow.url, 'bulk', String(n), 'fleet');
  console.log(`seeded ${n} versions in ${fmt((performance.now() - t) / 1000)} s`);

  await mkdir(join(dir, 'client'));
  const client = JSON.parse(seedMlflow(mlflow.url, 'download', String(n), 'fleet', join(dir, 'client'))) as { versions: number; seconds: number };

  t = performance.now();
  const r = await berth(['import', 'mlflow', '--from', mlflow.url, '--json'], { url: srv.url });
  const seconds = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`berth import mlflow failed (${r.code}): ${r.stderr.slice(-2000)}`);
  const copied = JSON.parse(r.stdout).copied as number;
  if (copied !== n) throw new Error(`berth import mlflow copied ${copied} versions, not ${n}`);

  const clientRate = client.versions / client.seconds;
  const importRate = copied / seconds;
  console.log(
    table([
      ['workload', 'versions', 'seconds', 'versions/s', 'vs MLflow client', 'target'],
      ['MLflow serving its own client (download_artifacts models:/…)', client.versions, fmt(client.seconds, 2), fmt(clientRate), '1.0×', '-'],
      ['berth import mlflow (artifacts, runs, metadata, commit)', copied, fmt(seconds, 2), fmt(importRate), `${fmt(importRate / clientRate, 2)}×`, '> 1.0×'],
    ]),
  );
} finally {
  await srv.stop();
  await mlflow.kill();
  await cleanup();
}
