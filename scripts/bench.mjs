#!/usr/bin/env node
// `npm run bench`: runs every benchmark in bench/ (lib.ts is their shared helper) one after
// another with tsx, or the named ones: `npm run bench -- transfer dedup`. Arguments from the
// first `--option` on go to each benchmark (`npm run bench -- transfer --mib 256`).
// Benchmarks report numbers and assert nothing; this exits non-zero only when one crashed.
// bench/mlflow.ts needs `wrk` and the MLflow client (.venv-compat, or MLFLOW_BIN): without
// them it is skipped with the reason, as bench/web.ts is without Chromium, the built UI or that
// venv. bench/hub.ts needs huggingface_hub (.venv-hub, or HUB_PYTHON).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const benchDir = join(root, 'bench');
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const names = (firstOption < 0 ? args : args.slice(0, firstOption)).map((n) => n.replace(/^bench\//, '').replace(/\.ts$/, ''));
const passOn = firstOption < 0 ? [] : args.slice(firstOption);

const all = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && f !== 'lib.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`npm run bench: no benchmark named ${unknown.join(', ')}; benchmarks: ${all.join(', ')}`);
  process.exit(1);
}
const chosen = names.length ? names : all;

/** Why a benchmark cannot run on this machine, or undefined. */
function missing(name) {
  if (name === 'hub') {
    const python = process.env.HUB_PYTHON ?? join(root, '.venv-hub', 'bin', 'python');
    return existsSync(python) ? undefined : `no huggingface_hub python at ${python} (\`npm test -- compat\` builds .venv-hub, or set HUB_PYTHON)`;
  }
  if (name === 'web') {
    const why = [];
    const browsers = [process.env.BERTH_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
    if (!browsers.some((p) => p && existsSync(p))) why.push('no Chromium (apt-get install chromium, or set BERTH_CHROMIUM)');
    if (!existsSync(join(root, 'packages', 'web', 'dist', 'index.html'))) why.push('the web UI is not built (npm run build -w @berth/web)');
    const mlflow = process.env.MLFLOW_BIN ?? join(root, '.venv-compat', 'bin', 'mlflow');
    if (!existsSync(mlflow)) why.push(`no mlflow at ${mlflow} (\`npm test -- compat\` builds .venv-compat, or set MLFLOW_BIN)`);
    return why.length ? why.join('; ') : undefined;
  }
  if (name !== 'mlflow') return undefined;
  const why = [];
  if (spawnSync('wrk', ['--version']).error) why.push('`wrk` is not installed (apt-get install -y wrk)');
  const mlflow = process.env.MLFLOW_BIN ?? join(root, '.venv-compat', 'bin', 'mlflow');
  if (!existsSync(mlflow)) why.push(`no mlflow at ${mlflow} (\`npm test -- compat\` builds .venv-compat, or set MLFLOW_BIN)`);
  return why.length ? why.join('; ') : undefined;
}

function run(file) {
  return new Promise((res) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [file, ...passOn], { cwd: root, stdio: 'inherit' });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.once('error', (err) => res({ code: 127, why: err.message }));
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      res({ code: code ?? 1, why: signal ? `killed by ${signal}` : undefined });
    });
  });
}

const results = [];
for (const name of chosen) {
  const why = missing(name);
  if (why) {
    console.log(`\n== bench/${name}.ts: skipped: ${why}`);
    results.push({ name, status: 'skipped', note: why, asked: names.includes(name) });
    continue;
  }
  console.log(`\n== bench/${name}.ts`);
  const t0 = Date.now();
  const { code, why: failure } = await run(join('bench', `${name}.ts`));
  const seconds = `${((Date.now() - t0) / 1000).toFixed(0)} s`;
  results.push(code === 0 ? { name, status: 'ok', note: seconds } : { name, status: 'FAILED', note: `${failure ?? `exit ${code}`} after ${seconds}` });
  if (failure?.startsWith('killed by SIGINT')) break;
}

console.log('\n== benchmarks');
for (const r of results) console.log(`  ${r.status.padEnd(8)} ${r.name.padEnd(16)} ${r.note}`);
// A benchmark named on the command line that could not run is a failure: it was asked for.
process.exit(results.some((r) => r.status === 'FAILED' || (r.status === 'skipped' && r.asked)) ? 1 : 0);
