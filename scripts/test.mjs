#!/usr/bin/env node
// `npm test`: typecheck and build, check the error catalogue, start a throwaway PostgreSQL when
// BERTH_TEST_PG_URL is not given, run every test file, schemathesis over the native API and the
// MLflow and Hub compatibility suites, and
// hold packages/core to 100% line coverage. Fails fast; ends with a summary and a non-zero exit
// on any failure. `npm test -- <substring>...` runs only the test files whose path contains one
// of the substrings (and skips the coverage gate). The parts live in scripts/test/;
// docs/testing.md explains it all.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { coreCoverageArgs } from './test/coverage.mjs';
import { allTests, selectTests, wantsCompat, wantsHubCompat, wantsSchemathesis } from './test/discover.mjs';
import { addCounts, bin, exec, finish, mustExec, onCleanup, root, StepFailure, skipped, step } from './test/harness.mjs';
import { junitCounts } from './test/junit.mjs';
import { pgBinDir, startPostgres } from './test/postgres.mjs';
import { runSchemathesis, schemathesisFigures, schemathesisSettings, startServer } from './test/schemathesis.mjs';
import { ensureVenv, HUB } from './test/venv.mjs';

const filters = process.argv.slice(2).filter((a) => a !== '');
const requireAll = process.env.BERTH_REQUIRE_ALL === '1';
const work = mkdtempSync(join(tmpdir(), 'berth-test-run-'));
onCleanup(() => rmSync(work, { recursive: true, force: true }));

const all = allTests(root);
const selected = selectTests(all, filters);
const compat = wantsCompat(filters);
const hubCompat = wantsHubCompat(filters);
const schemathesis = wantsSchemathesis(filters);
const shownFilters = filters.map((f) => JSON.stringify(f)).join(' or ');
if (selected.length === 0 && !compat && !hubCompat && !schemathesis) {
  console.error(`npm test: no test file matches ${shownFilters}; test files:\n  ${all.join('\n  ')}`);
  process.exit(1);
}
console.log(`npm test on Node ${process.version}${filters.length ? `, files matching ${shownFilters}` : ''}${requireAll ? ', BERTH_REQUIRE_ALL=1' : ''}`);

await step('typecheck and build (tsc -b)', () => mustExec('tsc -b', bin('tsc'), ['-b']));
// The web UI (packages/web): type-checked and built by Vite into packages/web/dist, which the
// server serves at / and the browser tests (e2e/web/) load.
if (selected.some((f) => f.startsWith('e2e/web/')) || filters.length === 0)
  await step('web UI build (vite)', () => mustExec('web build', 'npm', ['run', 'build', '--silent', '-w', '@berth/web']));
// Reads the built packages/core/dist, so it runs after the build; the layering and dependency
// rules run in `npm run lint`.
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
      env.BERTH_TEST_PG_URL = await startPostgres(binDir, onCleanup);
      console.log(`started a throwaway PostgreSQL from ${binDir}: BERTH_TEST_PG_URL=${env.BERTH_TEST_PG_URL}`);
      return { note: `throwaway, ${env.BERTH_TEST_PG_URL}` };
    } catch (err) {
      why = `could not start PostgreSQL from ${binDir}: ${err.message}`;
    }
  } else {
    why =
      'BERTH_TEST_PG_URL is not set and no PostgreSQL server binaries (initdb, pg_ctl, postgres) are on PATH or under /usr/lib/postgresql/*/bin: apt-get install postgresql';
  }
  if (requireAll) throw new StepFailure(`BERTH_REQUIRE_ALL=1 needs PostgreSQL, but ${why}`);
  console.log(`skipping PostgreSQL suites: ${why}`);
  return { status: 'skipped', note: 'PostgreSQL suites skip (see above)' };
});

// e2e/import-mlflow.test.ts starts a real `mlflow server` from .venv-compat, which on a fresh
// machine the MLflow compatibility step below would only create after the Node tests.
if (selected.some((f) => f.includes('import-mlflow'))) {
  await step('MLflow venv for the import tests (.venv-compat)', async () => {
    const venv = await ensureVenv(root, exec);
    if (!venv.unavailable) return { note: venv.bin };
    if (requireAll) throw new StepFailure(`BERTH_REQUIRE_ALL=1 needs the MLflow server, but ${venv.unavailable}`);
    return { status: 'skipped', note: venv.unavailable };
  });
}

if (selected.length === 0) {
  skipped('tests', 'no Node test file matches the filter');
  addCounts({});
} else {
  await step(`tests (${selected.length} file${selected.length === 1 ? '' : 's'})`, async () => {
    const summaryFile = join(work, 'summary.json');
    const reporter = pathToFileURL(join(root, 'scripts', 'test', 'summary-reporter.mjs')).href;
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
        `--test-reporter=${reporter}`,
        `--test-reporter-destination=${summaryFile}`,
        ...selected,
      ],
      { env },
    );
    const counts = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : undefined;
    if (counts) addCounts(counts);
    if (code !== 0) throw new StepFailure(counts?.failed ? `${counts.failed} failed (see above)` : `the test runner exited with ${code}`);
    if (!counts || counts.passed === 0) throw new StepFailure('no test ran');
    return { note: `${counts.passed} passed, ${counts.skipped} skipped${counts.todo ? `, ${counts.todo} todo` : ''}` };
  });
}

// schemathesis fuzzes the real server from its OpenAPI document: installed into .venv-fuzz from
// e2e/fuzz/requirements.txt.
if (!schemathesis) {
  skipped('schemathesis over /api/v1/openapi.json', 'a filter was given');
} else {
  await step('schemathesis over /api/v1/openapi.json', async () => {
    const venv = await ensureVenv(root, exec, { dir: '.venv-fuzz', requirements: 'e2e/fuzz/requirements.txt', what: 'schemathesis' });
    if (venv.unavailable) {
      if (requireAll) throw new StepFailure(`BERTH_REQUIRE_ALL=1 needs schemathesis, but ${venv.unavailable}`);
      console.log(`skipping schemathesis: ${venv.unavailable}`);
      addCounts({ skipped: 1 });
      return { status: 'skipped', note: venv.unavailable };
    }
    const settings = schemathesisSettings();
    const server = await startServer(root, work, env);
    onCleanup(server.stop);
    console.log(
      `berth server on ${server.url}; schemathesis: ${settings.examples} examples per operation, at most ${settings.maxTime} s, seed ${settings.seed}`,
    );
    const { code, output } = await runSchemathesis(venv.bin, server.url, work, settings, env);
    server.stop();
    const f = schemathesisFigures(output);
    const figures = `${f.operations ?? '?'} of ${f.selected ?? '?'} operations fuzzed, ${f.examples ?? '?'} examples, ${f.failures} failures, ${f.errors} errors`;
    console.log(`schemathesis: ${figures}`);
    const ok = code === 0 && f.operations !== undefined;
    addCounts(ok ? { passed: 1 } : { failed: 1, failures: [`schemathesis over /api/v1/openapi.json: ${figures}`] });
    if (f.operations === undefined)
      throw new StepFailure(`schemathesis exited with ${code} before testing any operation: it could not load the OpenAPI document (see above)`);
    if (code !== 0) throw new StepFailure(`schemathesis exited with ${code}: ${figures} (see above)`);
    return { note: figures };
  });
}

// The compatibility suites drive the real third-party clients with pytest, each from its own
// venv: the `mlflow` package (.venv-compat, e2e/compat/mlflow/requirements.txt), and
// `huggingface_hub` with `transformers` (.venv-hub, e2e/compat/hub/requirements.txt).
async function pytestSuite(title, folder, venvOptions, what) {
  await step(title, async () => {
    const venv = await ensureVenv(root, exec, venvOptions);
    if (venv.unavailable) {
      if (requireAll) throw new StepFailure(`BERTH_REQUIRE_ALL=1 needs ${what}, but ${venv.unavailable}`);
      console.log(`skipping ${title}: ${venv.unavailable}`);
      return { status: 'skipped', note: venv.unavailable };
    }
    const junit = join(work, `pytest-${folder.replaceAll('/', '-')}.xml`);
    const code = await exec(venv.python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${junit}`, folder], {
      env: { ...env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const counts = existsSync(junit) ? junitCounts(readFileSync(junit, 'utf8')) : { passed: 0, failed: 0, skipped: 0, failures: [] };
    addCounts(counts);
    const ran = counts.passed + counts.failed + counts.skipped;
    // pytest exits 5 when it collected no test.
    if (code === 5 || ran === 0) throw new StepFailure('pytest ran no test');
    if (code !== 0) throw new StepFailure(`pytest exited with ${code}: ${counts.failed} failed`);
    return { note: `${counts.passed} passed, ${counts.skipped} skipped` };
  });
}

if (!compat) skipped('MLflow compatibility suite (pytest)', 'a filter was given');
else await pytestSuite('MLflow compatibility suite (pytest, real mlflow)', 'e2e/compat/mlflow', undefined, 'the MLflow client');
if (!hubCompat) skipped('Hub compatibility suite (pytest)', 'a filter was given');
else await pytestSuite('Hub compatibility suite (pytest, real huggingface_hub)', 'e2e/compat/hub', HUB, 'the Hugging Face clients');

if (filters.length) {
  skipped('packages/core line coverage', 'a filter was given');
} else {
  await step('packages/core line coverage (must be 100%)', () =>
    mustExec(
      'c8 (core coverage below 100% of lines, or a core test failed)',
      bin('c8'),
      coreCoverageArgs(
        all.filter((f) => f.startsWith('packages/core/')),
        work,
      ),
    ),
  );
}

finish(0);
