#!/usr/bin/env node
// `npm test`: typecheck and build, check the layering and the error catalogue, start a
// throwaway PostgreSQL when none is given, run every test file, and hold packages/core to
// 100% line coverage. `npm test -- <substring>` runs only the matching test files.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv[2];
const requireAll = process.env.BERTH_REQUIRE_ALL === '1';
const started = Date.now();
const cleanups = [];

function step(title) {
  console.log(`\n== ${title}`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

function fail(message) {
  console.error(`\nnpm test: FAILED: ${message}`);
  cleanup();
  process.exit(1);
}

function cleanup() {
  while (cleanups.length) {
    try {
      cleanups.pop()();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (cleanup(), process.exit(130)));

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

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

function pgBinDir() {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return join(onPath, '..');
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : undefined;
}

/** Starts a throwaway PostgreSQL cluster on a free loopback port; returns its URL. */
async function startPostgres() {
  const bin = pgBinDir();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'berth-pg-'));
  const asRoot = process.getuid?.() === 0;
  const wrap = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const data = join(dir, 'data');
  const [c1, a1] = wrap(join(bin, 'initdb'), ['-D', data, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(c1, a1, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const [c2, a2] = wrap(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
  const start = spawnSync(c2, a2, { encoding: 'utf8' });
  if (start.status !== 0) throw new Error(`pg_ctl start failed: ${start.stderr}${start.stdout}`);
  cleanups.push(() => {
    const [c3, a3] = wrap(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    spawnSync(c3, a3);
    rmSync(dir, { recursive: true, force: true });
  });
  const [c4, a4] = wrap(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'berth_test']);
  const created = spawnSync(c4, a4, { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`createdb failed: ${created.stderr}`);
  return `postgres://postgres@127.0.0.1:${port}/berth_test`;
}

step('typecheck and build (tsc -b)');
run('npx', ['tsc', '-b']);

step('layering (scripts/check-layers.mjs)');
run(process.execPath, ['scripts/check-layers.mjs']);

step('error catalogue (scripts/check-errors-doc.mjs)');
run(process.execPath, ['scripts/check-errors-doc.mjs']);

const env = { ...process.env };
step('PostgreSQL for the store contract suite');
if (env.BERTH_TEST_PG_URL) {
  console.log(`using BERTH_TEST_PG_URL`);
} else {
  try {
    const url = await startPostgres();
    if (url) {
      env.BERTH_TEST_PG_URL = url;
      console.log(`started a throwaway PostgreSQL at ${url}`);
    } else if (requireAll) {
      fail('PostgreSQL is required (BERTH_REQUIRE_ALL=1) but no server binaries were found: apt-get install postgresql, or set BERTH_TEST_PG_URL');
    } else {
      console.log('skipping PostgreSQL suites: no BERTH_TEST_PG_URL and no PostgreSQL binaries (apt-get install postgresql)');
    }
  } catch (err) {
    if (requireAll) fail(err.message);
    console.log(`skipping PostgreSQL suites: ${err.message}`);
  }
}

const all = [...findTests(join(root, 'packages')), ...findTests(join(root, 'e2e'))].sort();
const selected = filter ? all.filter((f) => f.includes(filter)) : all;
if (selected.length === 0) fail(`no test file matches ${JSON.stringify(filter)}`);
step(`tests (${selected.length} files)`);
const testRun = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const code = await new Promise((res) => testRun.on('exit', (c, s) => res(c ?? (s ? 1 : 0))));
if (code !== 0) fail('some tests failed (see above)');

if (!filter) {
  step('packages/core line coverage (must be 100%)');
  const coreTests = all.filter((f) => f.startsWith('packages/core/'));
  run('npx', [
    'c8',
    '--reporter=text',
    '--all',
    '--src=packages/core/src',
    '--include=packages/core/src/**/*.ts',
    '--exclude=**/*.test.ts',
    '--exclude=packages/core/src/types.ts',
    '--check-coverage',
    '--lines=100',
    process.execPath,
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    '--test-reporter=dot',
    ...coreTests,
  ]);
}

cleanup();
console.log(`\nnpm test: all passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
