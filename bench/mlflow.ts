/**
 * Berth's MLflow front against a real `mlflow server` (SQLite backend, --serve-artifacts, its
 * default workers), same REST endpoints, one run (issue 3). Needs .venv-compat (npm test makes
 * it) or MLFLOW_BIN pointing at an `mlflow` executable.
 * Creates are measured with Debian's `wrk` (apt-get install -y wrk).
 *   npx tsx bench/mlflow.ts [--versions 10000] [--duration 10] [--create-seconds 5]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent as HttpAgent, get as httpGet, request as httpRequest } from 'node:http';
import { startBerth, startHashSink, tempDir, load, table, fmt, ROOT, startMlflow } from './lib.js';

const arg = (n: string, d: number) => (process.argv.includes(`--${n}`) ? Number(process.argv[process.argv.indexOf(`--${n}`) + 1]) : d);
const VERSIONS = arg('versions', 10_000);
const DURATION = arg('duration', 10);
const CREATE_SECONDS = arg('create-seconds', 5);
if (spawnSync('wrk', ['--version']).error) throw new Error('bench/mlflow.ts measures creates with wrk: apt-get install -y wrk');
const MLFLOW = process.env.MLFLOW_BIN ?? join(ROOT, '.venv-compat', 'bin', 'mlflow');
if (!existsSync(MLFLOW)) throw new Error(`no mlflow at ${MLFLOW}: run npm test once (it builds .venv-compat) or set MLFLOW_BIN`);

/** Resident memory of a process and all its descendants, MB. */
function treeRss(pid: number): number {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {}
    stack.push(...(kids.get(p) ?? []));
  }
  return total;
}

function peakDuring<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = treeRss(pid);
  const t = setInterval(() => (peak = Math.max(peak, treeRss(pid))), 100);
  return fn().then((result) => (clearInterval(t), { result, peak: Math.max(peak, treeRss(pid)) }));
}

const json = { 'content-type': 'application/json' };
async function post(url: string, path: string, body: unknown) {
  const r = await fetch(`${url}/api/2.0/mlflow/${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${text}`);
  return JSON.parse(text || '{}');
}

/** A run holding a model's files; versions are registered from it, as register_model does. */
const sources = new Map<string, { source: string; run_id: string }>();

async function setup(url: string) {
  await post(url, 'registered-models/create', { name: 'bench' });
  const run = (await post(url, 'runs/create', { experiment_id: '0', start_time: Date.now() })).run.info;
  const root = String(run.artifact_uri).replace(/^mlflow-artifacts:\/+/, '');
  const put = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/MLmodel`, { method: 'PUT', body: 'flavors: {}\n' });
  if (!put.ok) throw new Error(`artifact put: ${put.status}`);
  sources.set(url, { source: `${run.artifact_uri}/model`, run_id: run.run_id });
  await post(url, 'model-versions/create', { name: 'bench', ...sources.get(url) });
  await post(url, 'registered-models/alias', { name: 'bench', alias: 'champion', version: '1' });
}

function postCreate(url: string, body: string, agent: HttpAgent | false): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = httpRequest(
      `${url}/api/2.0/mlflow/model-versions/create`,
      { method: 'POST', agent, headers: { ...json, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`create: ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Unmeasured creates (8 writers) until the model holds `total` versions, for the search workload. */
async function topUp(url: string, have: number, total: number): Promise<void> {
  const body = JSON.stringify({ name: 'bench', ...sources.get(url) });
  let left = total - have;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0) await postCreate(url, body, false);
    }),
  );
}

/**
 * Creates measured with `wrk` (a C load generator, so the client's own cost stays out of the
 * figure), over keep-alive connections or with a new connection per request (`Connection:
 * close`): MLflow's faster variant, since its keep-alive requests from Python clients stall.
 */
function wrkCreates(url: string, writers: number, seconds: number, fresh: boolean): { rate: number; count: number } {
  const script = join(dir, `create-${fresh ? 'fresh' : 'ka'}.lua`);
  const body = JSON.stringify({ name: 'bench', ...sources.get(url) });
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n${fresh ? 'wrk.headers["Connection"] = "close"\n' : ''}wrk.body = ${JSON.stringify(body)}\n`,
  );
  const r = spawnSync('wrk', ['-t1', `-c${writers}`, `-d${seconds}s`, '-s', script, `${url}/api/2.0/mlflow/model-versions/create`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk: ${r.stderr || r.error}`);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  if (bad) throw new Error(`wrk: ${bad[1]} creates failed`);
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const count = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  if (!rate || !count) throw new Error(`wrk output not understood:\n${r.stdout}`);
  return { rate, count };
}

/** Each server at its best of the two client variants, both printed. */
function createBest(url: string, writers: number): { best: number; keepAlive: number; fresh: number; count: number } {
  const ka = wrkCreates(url, writers, CREATE_SECONDS, false);
  const fr = wrkCreates(url, writers, CREATE_SECONDS, true);
  return { best: Math.max(ka.rate, fr.rate), keepAlive: ka.rate, fresh: fr.rate, count: ka.count + fr.count };
}

/** Sequential searches over one keep-alive connection (node:http: a light client, whose own pauses stay out of the tail). */
async function searchP99(url: string, rounds: number): Promise<number> {
  const u = new URL(`${url}/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent("name = 'bench'")}&max_results=100`);
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      httpGet({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`search: ${res.statusCode}`))));
      }).on('error', reject);
    });
  // Warm both servers up first (code paths compiled, caches filled): steady state is measured.
  for (let i = 0; i < 20; i++) await get();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const s = performance.now();
    await get();
    times.push(performance.now() - s);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length * 0.99) - 1] ?? times[times.length - 1] ?? NaN;
}

/**
 * Before each measured transfer: write back and drop the page cache (root only), then read the
 * given files once, so both servers start from the same memory state (the upload source and
 * both stored copies in the cache). MLflow does not fsync, so without this its dirty pages
 * would still be written back during the next measurement.
 */
function settle(...paths: string[]): void {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not root: measure as is
  }
  for (const p of paths) spawnSync('sh', ['-c', `find ${JSON.stringify(p)} -type f -exec cat {} + > /dev/null 2>&1`]);
}

function curl(args: string[]): number {
  const s = performance.now();
  const r = spawnSync('curl', ['-sS', '-f', ...args]);
  if (r.status !== 0) throw new Error(`curl ${args.join(' ')}: ${r.stderr}`);
  return (performance.now() - s) / 1000;
}

const { dir, cleanup } = await tempDir('berth-bench-mlflow-');
const big = join(dir, 'big.bin');
{
  const out = createWriteStream(big);
  const chunk = randomBytes(1 << 20);
  for (let i = 0; i < 1024; i++) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
  await new Promise((r) => out.end(r));
}
const mlflow = await startMlflow(MLFLOW, join(dir, 'mlflow'));
const berth = await startBerth(join(dir, 'berth'));
const rows: (string | number)[][] = [['workload', 'mlflow server', 'berth', 'ratio', 'target']];
try {
  await new Promise((r) => setTimeout(r, 2000));
  const idle = { mlflow: treeRss(mlflow.proc.pid!), berth: treeRss(berth.proc.pid!) };
  await setup(mlflow.url);
  await setup(berth.url);
  const alias = (u: string) => `${u}/api/2.0/mlflow/registered-models/alias?name=bench&alias=champion`;
  await load(alias(mlflow.url), { duration: 2 });
  await load(alias(berth.url), { duration: 2 });
  const la = await load(alias(mlflow.url), { duration: DURATION });
  const lb = await load(alias(berth.url), { duration: DURATION });
  rows.push(['get-model-version-by-alias, 64 conns (req/s)', fmt(la.rps, 0), fmt(lb.rps, 0), `${fmt(lb.rps / la.rps, 1)}x`, '>= 50x']);
  rows.push(['  p99 ms', la.p99, lb.p99, '', '<= 5 ms']);
  const createRows = (workload: string, m: ReturnType<typeof createBest>, b: ReturnType<typeof createBest>, target: string) => {
    rows.push([`create model version, ${workload} (versions/s, best variant)`, fmt(m.best, 1), fmt(b.best, 1), `${fmt(b.best / m.best, 1)}x`, target]);
    rows.push(['  keep-alive / new connection each', `${fmt(m.keepAlive, 1)} / ${fmt(m.fresh, 1)}`, `${fmt(b.keepAlive, 1)} / ${fmt(b.fresh, 1)}`, '', '']);
  };
  const seqM = createBest(mlflow.url, 1);
  const seqB = createBest(berth.url, 1);
  createRows('sequential', seqM, seqB, '>= 10x');
  const parM = createBest(mlflow.url, 8);
  const parB = createBest(berth.url, 8);
  createRows('8 writers', parM, parB, '>= 20x');
  const haveM = 1 + seqM.count + parM.count;
  const haveB = 1 + seqB.count + parB.count;
  await topUp(mlflow.url, haveM, VERSIONS);
  await topUp(berth.url, haveB, VERSIONS);
  const searched = `${fmt(Math.max(haveM, VERSIONS), 0)} / ${fmt(Math.max(haveB, VERSIONS), 0)}`;
  const sM = await searchP99(mlflow.url, 500);
  const sB = await searchP99(berth.url, 500);
  rows.push([`search versions, name filter, ${searched} versions (p99 ms)`, fmt(sM, 1), fmt(sB, 1), `${fmt(sM / sB, 1)}x lower`, '>= 20x lower']);
  const art = (u: string) => `${u}/api/2.0/mlflow-artifacts/artifacts/bench/big.bin`;
  settle(big);
  const upM = await peakDuring(mlflow.proc.pid!, async () => curl(['-o', '/dev/null', '-T', big, art(mlflow.url)]));
  settle(big);
  const upB = await peakDuring(berth.proc.pid!, async () => curl(['-o', '/dev/null', '-T', big, art(berth.url)]));
  const sink = await startHashSink();
  settle(big);
  const upSink = curl(['-o', '/dev/null', '-T', big, `${sink.url}/`]);
  await sink.stop();
  const drain = await startHashSink({ hash: false });
  settle(big);
  const upDrain = curl(['-o', '/dev/null', '-T', big, `${drain.url}/`]);
  await drain.stop();
  const ceilingRow = (what: string, seconds: number, of: string) =>
    rows.push([
      `1 GiB upload to a bare Node server that ${what} (MB/s)`,
      '',
      fmt(1073.7 / seconds, 0),
      `${fmt(upM.result / seconds, 1)}x`,
      `ceiling for ${of}`,
    ]);
  ceilingRow('only hashes it', upSink, 'a verifying server');
  ceilingRow('discards it', upDrain, 'any Node server');
  /** A 1 GiB transfer through the artifact proxy: MB/s of each server and Berth's speed-up. */
  const transferRow = (what: string, m: { result: number }, b: { result: number }, target: string) =>
    rows.push([
      `1 GiB ${what} through the artifact proxy (MB/s)`,
      fmt(1073.7 / m.result, 0),
      fmt(1073.7 / b.result, 0),
      `${fmt(m.result / b.result, 1)}x`,
      target,
    ]);
  transferRow('upload', upM, upB, '>= 4x');
  settle(join(dir, 'mlflow', 'artifacts'), join(dir, 'berth', 'blobs'));
  const downM = await peakDuring(mlflow.proc.pid!, async () => curl(['-o', '/dev/null', art(mlflow.url)]));
  settle(join(dir, 'mlflow', 'artifacts'), join(dir, 'berth', 'blobs'));
  const downB = await peakDuring(berth.proc.pid!, async () => curl(['-o', '/dev/null', art(berth.url)]));
  transferRow('download', downM, downB, '>= 1.3x');
  rows.push([
    'peak RSS during the transfers (MB, all processes)',
    fmt(Math.max(upM.peak, downM.peak), 0),
    fmt(Math.max(upB.peak, downB.peak), 0),
    '',
    'berth < 200',
  ]);
  rows.push(['idle RSS (MB, all processes)', fmt(idle.mlflow, 0), fmt(idle.berth, 0), '', 'berth < 150']);
  console.log(table(rows));
} finally {
  try {
    process.kill(-mlflow.proc.pid!, 'SIGTERM');
  } catch {}
  await berth.stop();
  await cleanup();
}
