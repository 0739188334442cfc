/**
 * The web UI's numbers (issue 13), against MLflow's own UI on the same data in the same run:
 * - first meaningful paint of the catalog (`/`) with 100,000 versions on loopback: navigation
 *   start → the first result row painted, median of cold loads (a fresh browser context each);
 * - the same for the model page of a model with 10,000 versions;
 * - the gzipped size of the scripts index.html loads (the initial JS);
 * - the floor of the measure in the same browser: a bare page that fetches 50 rows and writes them.
 * Both stores are seeded directly in SQLite (Berth's after its migrations, MLflow's after
 * `mlflow db upgrade`): 100,000 versions through MLflow's REST API would take about 17 minutes.
 * Needs Chromium (as e2e/web does), the built UI (`npm run build -w @berth/web`) and
 * .venv-compat (npm test makes it) or MLFLOW_BIN.
 *   npx tsx bench/web.ts [--versions 100000] [--model-versions 10000] [--loads 7]
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { chromium, type Browser } from 'playwright-core';
import { openStore } from '@berth/server';
import { chromiumPath } from '../e2e/web/support.js';
import { startBerth, tempDir, table, fmt, ROOT, startMlflow } from './lib.js';

const arg = (n: string, d: number) => (process.argv.includes(`--${n}`) ? Number(process.argv[process.argv.indexOf(`--${n}`) + 1]) : d);
const VERSIONS = arg('versions', 100_000);
const BIG = arg('model-versions', 10_000);
const LOADS = arg('loads', 7);
/** The other versions are spread over models of this many versions each. */
const PER_MODEL = 500;
const MLFLOW = process.env.MLFLOW_BIN ?? join(ROOT, '.venv-compat', 'bin', 'mlflow');
const DIST = join(ROOT, 'packages/web/dist');
if (!chromiumPath) throw new Error('bench/web.ts drives Chromium: apt-get install chromium, or set BERTH_CHROMIUM');
if (!existsSync(join(DIST, 'index.html'))) throw new Error('the web UI is not built: npm run build -w @berth/web');
if (!existsSync(MLFLOW)) throw new Error(`no mlflow at ${MLFLOW}: run npm test once (it builds .venv-compat) or set MLFLOW_BIN`);

/** The data both stores get: `big` with BIG versions, then models of PER_MODEL versions up to VERSIONS; each has @champion on its latest. */
const MODELS: { name: string; versions: number }[] = [{ name: 'big', versions: BIG }];
for (let left = VERSIONS - BIG, i = 1; left > 0; left -= PER_MODEL, i++)
  MODELS.push({ name: `model-${String(i).padStart(4, '0')}`, versions: Math.min(PER_MODEL, left) });
const T0 = Date.parse('2026-01-01T00:00:00Z');
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

async function seedBerth(dir: string): Promise<void> {
  const file = join(dir, 'berth.db');
  // Migrations first, through the store itself; then rows as the version repository writes them.
  await (await openStore(`sqlite:${file}`)).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insModel = db.prepare(
    `insert into models (name, kind, description, tags, protected_aliases, last_version, created_at, updated_at) values (?, 'model', '', '{}', '[]', ?, ?, ?)`,
  );
  const insVersion = db.prepare(
    `insert into versions (model_id, version, digest, status, stage, size, file_count, metadata, tags, description, source, run_id, dependencies, created_by, created_at, updated_at)
     values (?, ?, ?, 'READY', 'None', 1024, 1, ?, '{}', '', null, null, '[]', 'bench', ?, ?)`,
  );
  const insMeta = db.prepare(`insert into version_metadata (version_id, key, value) values (?, 'base_model', ?)`);
  const insAlias = db.prepare(`insert into aliases (model_id, alias, version, frozen, updated_by, updated_at) values (?, 'champion', ?, 0, 'bench', ?)`);
  let n = 0;
  db.transaction(() => {
    for (const m of MODELS) {
      const modelId = Number(insModel.run(m.name, m.versions, T0, T0).lastInsertRowid);
      for (let v = 1; v <= m.versions; v++) {
        const at = T0 + ++n * 1000;
        const id = Number(insVersion.run(modelId, v, digest(n), JSON.stringify({ base_model: 'llama' }), at, at).lastInsertRowid);
        insMeta.run(id, 'llama');
      }
      insAlias.run(modelId, m.versions, T0);
    }
  })();
  db.close();
}

async function seedMlflow(dir: string): Promise<void> {
  const file = join(dir, 'mlflow.db');
  const up = spawnSync(MLFLOW, ['db', 'upgrade', `sqlite:///${file}`], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`mlflow db upgrade: ${up.stderr}`);
  const db = new Database(file);
  db.pragma('journal_mode = DELETE');
  db.pragma('synchronous = OFF');
  const insModel = db.prepare(`insert into registered_models (name, creation_time, last_updated_time, description) values (?, ?, ?, '')`);
  const insVersion = db.prepare(
    `insert into model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, status, status_message, run_link, storage_location)
     values (?, ?, ?, ?, '', 'bench', 'None', ?, '', 'READY', '', '', ?)`,
  );
  const insAlias = db.prepare(`insert into registered_model_aliases (alias, version, name) values ('champion', ?, ?)`);
  let n = 0;
  db.transaction(() => {
    for (const m of MODELS) {
      insModel.run(m.name, T0, T0 + m.versions * 1000);
      for (let v = 1; v <= m.versions; v++) {
        const at = T0 + ++n * 1000;
        const source = `mlflow-artifacts:/0/r${n}/artifacts/model`;
        insVersion.run(m.name, v, at, at, source, source);
      }
      insAlias.run(m.versions, m.name);
    }
  })();
  db.close();
}

/** Stops the server's whole process group (it forks workers), by force if it lingers. */
async function stopMlflow(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  process.kill(-proc.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-proc.pid!, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Installed before any page script runs: records `performance.now()` (ms since navigation start)
 * when an element matching the selector is first in the document and visible, then after the
 * next frame is produced (a requestAnimationFrame callback runs just before paint; a message
 * posted from it is handled after that paint). A string, not a function: tsx's transform would
 * add helpers the page does not have.
 */
const watchFirstRow = (selector: string) => `
  performance.setResourceTimingBufferSize(100000);
  window.__firstRow = new Promise((resolve) => {
    const selector = ${JSON.stringify(selector)};
    const visible = () => {
      const el = document.querySelector(selector);
      return !!el && el.getClientRects().length > 0 && (el.textContent || '').trim() !== '';
    };
    const obs = new MutationObserver(() => {
      if (!visible()) return;
      obs.disconnect();
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => {
          const painted = performance.now();
          const api = performance.getEntriesByType('resource').filter((e) => /\\/(ajax-)?api\\//.test(e.name));
          resolve({ painted, asked: Math.min(...api.map((e) => e.startTime)) });
        };
        ch.port2.postMessage(null);
      });
    });
    obs.observe(document, { childList: true, subtree: true, characterData: true });
  });`;

interface Loads {
  /** Median ms from navigation start to the first row painted. */
  median: number;
  all: number[];
  /** Median ms from navigation start to the page's first API request: what loading the UI itself costs before it can ask for data. */
  asked: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** The first `selector` painted, over LOADS cold loads (a new context, so an empty cache, each). */
async function firstRow(browser: Browser, url: string, selector: string): Promise<Loads> {
  const all: number[] = [];
  const asked: number[] = [];
  for (let i = 0; i < LOADS + 1; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(watchFirstRow(selector));
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    const t = await Promise.race([
      page.evaluate('window.__firstRow') as Promise<{ painted: number; asked: number }>,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no ${selector} at ${url} within 60 s`)), 60_000)),
    ]);
    await context.close();
    // The first load warms the servers (and the OS page cache of their files); it is not counted.
    if (i > 0) {
      all.push(t.painted);
      asked.push(t.asked);
    }
  }
  return { median: median(all), all, asked: median(asked) };
}

/** The scripts an index.html loads at once (script src, modulepreload), gzipped (zlib's default level, as servers send them). */
function initialJs(indexHtml: string, root: string, prefix: RegExp): { files: number; bytes: number; gzipped: number } {
  const html = readFileSync(indexHtml, 'utf8');
  const srcs = [
    ...[...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]!),
    ...[...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]!),
  ];
  let bytes = 0;
  let gzipped = 0;
  for (const s of srcs) {
    const body = readFileSync(join(root, s.replace(prefix, '')));
    bytes += body.length;
    gzipped += gzipSync(body).length;
  }
  return { files: srcs.length, bytes, gzipped };
}

/**
 * The floor of the measure on this machine: a bare page whose inline script fetches 50 rows of
 * JSON and writes them into a table with plain DOM, served from memory by node:http. No UI
 * could paint its first row sooner in the same browser; what a UI takes beyond it is its own.
 */
async function startFloor(): Promise<{ url: string; server: Server }> {
  const rows = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ name: `model-${i}`, version: i + 1 })));
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>floor</title></head><body><table class="results"><tbody></tbody></table><script>
fetch('/api/rows').then((r) => r.json()).then((rows) => {
  const body = document.querySelector('tbody');
  for (const r of rows) { const tr = document.createElement('tr'); tr.innerHTML = '<td>' + r.name + '</td><td>' + r.version + '</td>'; body.appendChild(tr); }
});
</script></body></html>`;
  const server = createServer((req, res) => {
    if (req.url === '/api/rows') res.writeHead(200, { 'content-type': 'application/json' }).end(rows);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const { dir, cleanup } = await tempDir('berth-bench-web-');
const t0 = performance.now();
await seedBerth(join(dir, 'berth'));
const berthSeed = (performance.now() - t0) / 1000;
const t1 = performance.now();
await seedMlflow(join(dir, 'mlflow'));
const mlflowSeed = (performance.now() - t1) / 1000;
console.log(
  `seeded ${fmt(VERSIONS, 0)} versions in ${MODELS.length} models (\`big\`: ${fmt(BIG, 0)}) into each store: Berth ${fmt(berthSeed)} s, MLflow ${fmt(mlflowSeed)} s (with its db upgrade)`,
);

const berth = await startBerth(join(dir, 'berth'), ['--log-level', 'warn']);
const mlflow = await startMlflow(MLFLOW, join(dir, 'mlflow'), 90);
const floor = await startFloor();
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  // MLflow's tables are divs with ARIA roles; its first data row is the first row with a cell link.
  const MLFLOW_ROW = '[role=row]:has([role=cell] a)';
  const catB = await firstRow(browser, `${berth.url}/`, 'table.results tbody tr');
  const catM = await firstRow(browser, `${mlflow.url}/#/models`, MLFLOW_ROW);
  const modB = await firstRow(browser, `${berth.url}/models/big`, 'table.versions tbody tr');
  const modM = await firstRow(browser, `${mlflow.url}/#/models/big`, MLFLOW_ROW);
  const bare = await firstRow(browser, `${floor.url}/`, 'table.results tbody tr');
  const jsB = initialJs(join(DIST, 'index.html'), DIST, /^\//);
  const mlIndex = spawnSync(
    join(MLFLOW, '..', 'python'),
    ['-c', 'import mlflow.server, os; print(os.path.join(os.path.dirname(mlflow.server.__file__), "js", "build"))'],
    { encoding: 'utf8' },
  ).stdout.trim();
  const jsM = initialJs(join(mlIndex, 'index.html'), mlIndex, /^\.?\/?static-files\//);
  const kb = (b: number) => `${fmt(b / 1024, 1)} KB`;
  const ms = (r: Loads) => `${fmt(r.median, 0)} ms (${r.all.map((x) => fmt(x, 0)).join(', ')})`;
  console.log(
    table([
      ['measure', 'MLflow UI (baseline)', 'Berth', 'ratio', 'target'],
      [
        `catalog, first row painted, ${fmt(VERSIONS, 0)} versions (median of ${LOADS} cold loads)`,
        ms(catM),
        ms(catB),
        `${fmt(catM.median / catB.median, 1)}x faster`,
        '< 1 s',
      ],
      ['  of which before the first API request (median ms)', fmt(catM.asked, 0), fmt(catB.asked, 0), '', ''],
      [
        `model page, first row painted, ${fmt(BIG, 0)} versions (median of ${LOADS})`,
        ms(modM),
        ms(modB),
        `${fmt(modM.median / modB.median, 1)}x faster`,
        '< 1 s',
      ],
      ['  of which before the first API request (median ms)', fmt(modM.asked, 0), fmt(modB.asked, 0), '', ''],
      ['floor: a bare page (inline script fetches 50 rows, plain DOM), same measure', '', `${ms(bare)}; first API request at ${fmt(bare.asked, 0)} ms`, '', ''],
      [
        'initial JS, gzipped (index.html scripts)',
        `${kb(jsM.gzipped)} (${jsM.files} file, ${kb(jsM.bytes)} raw)`,
        `${kb(jsB.gzipped)} (${jsB.files} file, ${kb(jsB.bytes)} raw)`,
        `${fmt(jsM.gzipped / jsB.gzipped, 1)}x smaller`,
        '< 300 KB',
      ],
    ]),
  );
} finally {
  await browser.close().catch(() => undefined);
  floor.server.close();
  await stopMlflow(mlflow.proc);
  await berth.stop();
  await cleanup();
}
