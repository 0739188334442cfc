#!/usr/bin/env node
// `npm test`: typecheck and build, check the layering and the error catalogue, start a
// throwaway PostgreSQL when BERTH_TEST_PG_URL is not given, run every test file, and hold
// packages/core to 100% line coverage. Fails fast; ends with a summary and a non-zero exit on
// any failure. `npm test -- <substring>...` runs only the test files whose path contains one
// of the substrings (and skips the coverage gate). docs/testing.md explains it all.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(new URL('..', import.meta.url).pathname);
const filters = process.argv.slice(2).filter((a) => a !== '');
const requireAll = process.env.BERTH_REQUIRE_ALL === '1';
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'berth-test-run-'));
const results = []; // { name, status: 'ok' | 'FAILED' | 'skipped', seconds, note }
const cleanups = [() => rmSync(work, { recursive: true, force: true })];
let current; // the running child process, killed on SIGINT/SIGTERM
let counts; // from scripts/test-summary-reporter.mjs

class StepFailure extends Error {}

// ---------------------------------------------------------------------------------------------
// processes, cleanup, summary

function cleanup() {
  while (cleanups.length) {
    try {
      cleanups.pop()();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
}
process.on('exit', cleanup);
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(sig, () => {
    if (current && current.exitCode === null) current.kill(sig);
    finish(code, `interrupted by ${sig}`);
  });
}

/** Runs a command with inherited stdio; resolves to its exit code (a signal counts as 1). */
function exec(cmd, args, opts = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
    current = child;
    child.once('error', (err) => {
      console.error(`cannot run ${cmd}: ${err.message}`);
      res(127);
    });
    child.once('exit', (code, signal) => res(code ?? (signal ? 1 : 0)));
  });
}

async function mustExec(what, cmd, args, opts) {
  const code = await exec(cmd, args, opts);
  if (code !== 0) throw new StepFailure(`${what} exited with ${code}`);
}

function bin(name) {
  const p = join(root, 'node_modules', '.bin', name);
  if (!existsSync(p)) throw new StepFailure(`${p} is missing: run npm ci first`);
  return p;
}

async function step(name, fn) {
  console.log(`\n== ${name}`);
  const t0 = Date.now();
  const seconds = () => (Date.now() - t0) / 1000;
  try {
    const out = (await fn()) ?? {};
    results.push({ name, status: out.status ?? 'ok', seconds: seconds(), note: out.note });
  } catch (err) {
    const note = err instanceof StepFailure ? err.message : (err?.stack ?? String(err));
    results.push({ name, status: 'FAILED', seconds: seconds(), note });
    finish(1, `${name}: ${note}`);
  }
}

function finish(code, message) {
  console.log('\n== summary');
  for (const r of results) console.log(`  ${r.status.padEnd(8)} ${r.name.padEnd(46)} ${r.seconds.toFixed(1).padStart(6)} s${r.note ? `  ${r.note}` : ''}`);
  if (counts?.failures.length) {
    console.log('  failed tests:');
    for (const name of counts.failures.slice(0, 30)) console.log(`    ✖ ${name}`);
    if (counts.failures.length > 30) console.log(`    … and ${counts.failures.length - 30} more`);
  }
  const total = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  if (code === 0) console.log(`npm test: OK in ${total}`);
  else console.error(`npm test: FAILED in ${total}: ${message}`);
  // The plain closing line CI tools read: 'N passed, N failed'.
  if (counts) console.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  cleanup();
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// test discovery

function findTests(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p).split(sep).join('/'));
  }
  return out;
}

function allTests() {
  const dirs = readdirSync(join(root, 'packages')).map((pkg) => join(root, 'packages', pkg, 'src'));
  return [...dirs, join(root, 'e2e')].flatMap((d) => findTests(d)).sort();
}

// ---------------------------------------------------------------------------------------------
// a throwaway PostgreSQL

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** The folder holding initdb, pg_ctl and postgres: from PATH (through symlinks) or Debian's layout. */
function pgBinDir() {
  const has = (dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)));
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const initdb = join(dir, 'initdb');
    if (!existsSync(initdb)) continue;
    const real = dirname(realpathSync(initdb));
    if (has(real)) return real;
  }
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => has(join(base, v, 'bin')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : undefined;
}

/**
 * initdb and postgres refuse to run as root: as root, run them as the `postgres` user (which
 * Debian's package creates) in a folder it owns.
 */
function pgRunner(dir) {
  if (process.getuid?.() !== 0) return (cmd, args) => [cmd, args];
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  if (uid.status !== 0) throw new Error("running as root, PostgreSQL needs a 'postgres' user to run as (useradd --system postgres)");
  chownSync(dir, Number(uid.stdout.trim()), Number(id('-g').stdout.trim()));
  if (spawnSync('runuser', ['--help'], { stdio: 'ignore' }).status === 0) return (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  const quote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
  return (cmd, args) => ['su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(quote).join(' ')]];
}

/** Starts a PostgreSQL cluster on a free loopback port and creates `berth_test`; returns its URL. */
async function startPostgres(binDir) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const as = pgRunner(dir);
  const run = (name, args) => {
    const [cmd, argv] = as(join(binDir, name), args);
    return spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const logTail = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '');

  const init = run('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout || init.error?.message}`);

  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    // fsync off and a generous connection limit: a test cluster, thrown away after the run.
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    const start = run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', opts, 'start']);
    if (start.status === 0) break;
    if (attempt === 3) throw new Error(`pg_ctl start failed: ${start.stderr || start.stdout}\n${logTail()}`);
  }
  // Registered after the rm above, so it runs before it (cleanups run last-in first-out).
  cleanups.push(() => run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']));

  const createdb = existsSync(join(binDir, 'createdb')) ? join(binDir, 'createdb') : 'createdb';
  const [cmd, argv] = as(createdb, ['-h', dir, '-p', String(port), '-U', 'postgres', 'berth_test']);
  const created = spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`createdb failed: ${created.stderr || created.error?.message}`);
  return `postgres://postgres@127.0.0.1:${port}/berth_test`;
}

// ---------------------------------------------------------------------------------------------
// the run

const all = allTests();
const selected = filters.length ? all.filter((f) => filters.some((s) => f.includes(s))) : all;
const compatOnly = filters.length > 0 && filters.some((f) => 'e2e/compat/mlflow/'.includes(f) || f.includes('compat'));
if (selected.length === 0 && !compatOnly) {
  console.error(`npm test: no test file matches ${filters.map((f) => JSON.stringify(f)).join(' or ')}; test files:\n  ${all.join('\n  ')}`);
  process.exit(1);
}
console.log(`npm test on Node ${process.version}${filters.length ? `, files matching ${filters.map((f) => JSON.stringify(f)).join(' or ')}` : ''}${requireAll ? ', BERTH_REQUIRE_ALL=1' : ''}`);

await step('typecheck and build (tsc -b)', () => mustExec('tsc -b', bin('tsc'), ['-b']));
await step('layering (scripts/check-layers.mjs)', () => mustExec('check-layers', process.execPath, ['scripts/check-layers.mjs']));
await step('error catalogue (scripts/check-errors-doc.mjs)', () => mustExec('check-errors-doc', process.execPath, ['scripts/check-errors-doc.mjs']));

const env = { ...process.env };
await step('PostgreSQL for the store contract suites', async () => {
  if (env.BERTH_TEST_PG_URL) {
    const shown = env.BERTH_TEST_PG_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
    console.log(`using BERTH_TEST_PG_URL=${shown}`);
    return { note: 'from BERTH_TEST_PG_URL' };
  }
  const binDir = pgBinDir();
  let why;
  if (binDir) {
    try {
      env.BERTH_TEST_PG_URL = await startPostgres(binDir);
      console.log(`started a throwaway PostgreSQL from ${binDir}: BERTH_TEST_PG_URL=${env.BERTH_TEST_PG_URL}`);
      return { note: `throwaway, ${env.BERTH_TEST_PG_URL}` };
    } catch (err) {
      why = `could not start PostgreSQL from ${binDir}: ${err.message}`;
    }
  } else {
    why = 'BERTH_TEST_PG_URL is not set and no PostgreSQL server binaries (initdb, pg_ctl, postgres) are on PATH or under /usr/lib/postgresql/*/bin: apt-get install postgresql';
  }
  if (requireAll) throw new StepFailure(`BERTH_REQUIRE_ALL=1 needs PostgreSQL, but ${why}`);
  console.log(`skipping PostgreSQL suites: ${why}`);
  return { status: 'skipped', note: 'PostgreSQL suites skip (see above)' };
});

if (selected.length === 0) {
  results.push({ name: 'tests', status: 'skipped', seconds: 0, note: 'no Node test file matches the filter' });
  counts = { passed: 0, failed: 0, skipped: 0, todo: 0, failures: [] };
} else await step(`tests (${selected.length} file${selected.length === 1 ? '' : 's'})`, async () => {
  const summaryFile = join(work, 'summary.json');
  const code = await exec(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${pathToFileURL(join(root, 'scripts', 'test-summary-reporter.mjs')).href}`,
      `--test-reporter-destination=${summaryFile}`,
      ...selected,
    ],
    { env },
  );
  if (existsSync(summaryFile)) counts = JSON.parse(readFileSync(summaryFile, 'utf8'));
  if (code !== 0) throw new StepFailure(counts?.failed ? `${counts.failed} failed (see above)` : `the test runner exited with ${code}`);
  if (!counts || counts.passed === 0) throw new StepFailure('no test ran');
  return { note: `${counts.passed} passed, ${counts.skipped} skipped${counts.todo ? `, ${counts.todo} todo` : ''}` };
});

// The compatibility suites drive the real third-party clients (issue 3): pytest with the
// real `mlflow` package, installed into .venv-compat from e2e/compat/mlflow/requirements.txt.
const compatWanted = filters.length === 0 || filters.some((f) => 'e2e/compat/mlflow/'.includes(f) || f.includes('compat'));
if (!compatWanted) {
  results.push({ name: 'MLflow compatibility suite (pytest)', status: 'skipped', seconds: 0, note: 'a filter was given' });
} else {
  await step('MLflow compatibility suite (pytest, real mlflow)', async () => {
    const reqFile = join(root, 'e2e', 'compat', 'mlflow', 'requirements.txt');
    const venv = join(root, '.venv-compat');
    const python = join(venv, 'bin', 'python');
    const stamp = join(venv, '.berth-requirements');
    const wanted = readFileSync(reqFile, 'utf8');
    const unavailable = (why) => {
      if (requireAll) throw new StepFailure(`BERTH_REQUIRE_ALL=1 needs the MLflow client, but ${why}`);
      console.log(`skipping the MLflow compatibility suite: ${why}`);
      return { status: 'skipped', note: why };
    };
    if (!existsSync(python)) {
      const py = spawnSync('python3', ['--version']);
      if (py.status !== 0) return unavailable('python3 is not installed');
      console.log('creating .venv-compat (python3 -m venv)');
      if ((await exec('python3', ['-m', 'venv', venv])) !== 0) return unavailable('python3 -m venv failed (apt-get install python3-venv)');
    }
    if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
      console.log(`installing ${reqFile.slice(root.length + 1)} into .venv-compat (pip; takes a minute the first time)`);
      if ((await exec(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', reqFile])) !== 0) return unavailable('pip install of the MLflow client failed (see above)');
      writeFileSync(stamp, wanted);
    }
    const junit = join(work, 'pytest.xml');
    const code = await exec(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${junit}`, 'e2e/compat/mlflow'], { env: { ...env, PYTHONDONTWRITEBYTECODE: '1' } });
    const xml = existsSync(junit) ? readFileSync(junit, 'utf8') : '';
    const attr = (n) => Number(new RegExp(`<testsuite[^>]* ${n}="(\\d+)"`).exec(xml)?.[1] ?? 0);
    const ran = attr('tests');
    const failed = attr('failures') + attr('errors');
    const skipped = attr('skipped');
    if (counts) {
      counts.passed += ran - failed - skipped;
      counts.failed += failed;
      counts.skipped += skipped;
    }
    if (code === 5 || ran === 0) throw new StepFailure('pytest ran no test');
    if (code !== 0) throw new StepFailure(`pytest exited with ${code}: ${failed} failed`);
    return { note: `${ran - failed - skipped} passed, ${skipped} skipped` };
  });
}

if (filters.length) {
  results.push({ name: 'packages/core line coverage', status: 'skipped', seconds: 0, note: 'a filter was given' });
} else {
  // c8 reads the V8 coverage of every test process and maps it back to the .ts sources
  // through the source maps tsx registers; --all also counts core files no test loads.
  await step('packages/core line coverage (must be 100%)', () =>
    mustExec('c8 (core coverage below 100% of lines, or a core test failed)', bin('c8'), [
      '--all',
      '--src=packages/core/src',
      '--include=packages/core/src/**/*.ts',
      '--exclude=**/*.test.ts',
      '--reporter=text',
      `--temp-directory=${join(work, 'c8-tmp')}`,
      `--report-dir=${join(work, 'c8-report')}`,
      '--check-coverage',
      '--lines=100',
      process.execPath,
      '--conditions=source',
      '--import',
      'tsx',
      '--test',
      '--test-reporter=dot',
      ...all.filter((f) => f.startsWith('packages/core/')),
    ]),
  );
}

finish(0);
