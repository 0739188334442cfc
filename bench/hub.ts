/**
 * The Hub front under the real `huggingface_hub` client (.venv-hub), against curl in the same
 * run. Targets (issue 11):
 * - snapshot_download of a 1 GiB, 10-file repo ≥ 0.8× curl fetching the same 10 files from the
 *   native blob endpoint (both write the files to disk; best of 2 each);
 * - hf_hub_download of a cached file at a 40-hex commit makes zero requests;
 * - at an alias it makes exactly one HEAD, and that HEAD is answered in < 2 ms p99.
 * A third row, python httpx streaming the same files from /resolve, is the Python client's own
 * ceiling: it tells the server's share of a gap from the client's.
 * Requests are counted by the server itself (the berth_http_requests_total series of /metrics).
 *   npx tsx bench/hub.ts [--mib 1024] [--heads 2000]
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { berth, startBerth, tempDir, table, fmt, ROOT } from './lib.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MIB = arg('--mib', 1024);
const HEADS = arg('--heads', 2000);
const FILES = 10;
const PYTHON = process.env.HUB_PYTHON ?? join(ROOT, '.venv-hub', 'bin', 'python');
if (!existsSync(PYTHON)) throw new Error(`no huggingface_hub python at ${PYTHON}: \`npm test -- compat\` builds .venv-hub, or set HUB_PYTHON`);
const REPO = 'bench/big';

const { dir, cleanup } = await tempDir('berth-bench-hub-');
const src = join(dir, 'src');
await mkdir(src);
const shas: string[] = [];
{
  const per = Math.floor((MIB * 1024 * 1024) / FILES);
  for (let f = 0; f < FILES; f++) {
    // a chunk of its own per file, so the blob store holds ten different blobs
    const chunk = randomBytes(1024 * 1024);
    const out = createWriteStream(join(src, `model-${f}.safetensors`));
    const h = createHash('sha256');
    for (let n = 0; n < per; n += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, per - n));
      h.update(part);
      if (!out.write(part)) await once(out, 'drain');
    }
    await new Promise((r) => out.end(r));
    shas.push(h.digest('hex'));
  }
}
const bytes = Math.floor((MIB * 1024 * 1024) / FILES) * FILES;
const mbps = (s: number) => bytes / 1e6 / s;

/** Runs python with huggingface_hub pointed at the server; prints what the script prints on its last line. */
async function py(url: string, code: string, cache: string): Promise<string> {
  const proc = spawn(PYTHON, ['-c', code], {
    env: { ...process.env, HF_ENDPOINT: url, HF_HUB_DISABLE_XET: '1', HF_HUB_CACHE: cache, HF_HUB_DISABLE_TELEMETRY: '1', HF_HUB_DISABLE_PROGRESS_BARS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const [code_] = await once(proc, 'exit');
  if (code_ !== 0) throw new Error(`python failed (${code_}): ${err}`);
  return out.trim().split('\n').pop() ?? '';
}

/** The server's own request count per `METHOD route`, from /metrics (the scrape itself left out). */
async function requestCounts(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^berth_http_requests_total\{([^}]*)\} (\d+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.route === '/metrics') continue;
    const key = `${labels.method} ${labels.route}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
  }
  return counts;
}

/** How many HEADs of /resolve the server answered within each histogram bound (seconds), cumulative. */
async function headBuckets(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('berth_http_request_duration_seconds_bucket{') || !line.includes('method="HEAD"') || !line.includes('/resolve/')) continue;
    const m = /le="([^"]+)"\} (\d+)/.exec(line);
    if (m) out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + Number(m[2]));
  }
  return out;
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of after) if (n - (before.get(k) ?? 0) > 0) out[k] = n - (before.get(k) ?? 0);
  return out;
}

const settle = () => spawnSync('sync');
const srv = await startBerth(join(dir, 'data'));
try {
  const pushed = await berth(['push', src, '--model', REPO, '--json'], { url: srv.url });
  if (pushed.code !== 0) throw new Error(`push failed: ${pushed.stderr}`);
  const commit = (JSON.parse(pushed.stdout).digest as string).slice('sha256:'.length, 'sha256:'.length + 40);
  const alias = await berth(['alias', 'set', REPO, 'champion', '1'], { url: srv.url });
  if (alias.code !== 0) throw new Error(`alias failed: ${alias.stderr}`);

  // curl: the 10 files from the native blob endpoint, one after another on one connection, to files
  const curlOnce = async () => {
    const out = join(dir, 'curl');
    await rm(out, { recursive: true, force: true });
    await mkdir(out);
    settle();
    const s = performance.now();
    const r = spawnSync('curl', ['-sS', '--fail', ...shas.flatMap((sha, i) => ['-o', join(out, `${i}.bin`), `${srv.url}/api/v1/blobs/${sha}`])]);
    const t = (performance.now() - s) / 1000;
    if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`);
    return t;
  };
  // snapshot_download at the alias into an empty cache, timed inside python (the interpreter's start is not the server's)
  const hubOnce = async (cache: string) => {
    await rm(cache, { recursive: true, force: true });
    settle();
    return Number(
      await py(
        srv.url,
        `import time\nfrom huggingface_hub import snapshot_download\nt=time.perf_counter()\nsnapshot_download(${JSON.stringify(REPO)}, revision='champion')\nprint(time.perf_counter()-t)`,
        cache,
      ),
    );
  };
  // the Python client's own ceiling: httpx (what huggingface_hub downloads with) streaming the
  // same 10 /resolve URLs to files in 10 MiB chunks, as hf_hub_download does, and nothing else
  const httpxOnce = async () => {
    const out = join(dir, 'httpx');
    await rm(out, { recursive: true, force: true });
    await mkdir(out);
    settle();
    const code = [
      'import time, httpx',
      't = time.perf_counter()',
      'with httpx.Client() as c:',
      `  for i in range(${FILES}):`,
      `    with c.stream('GET', f'${srv.url}/${REPO}/resolve/${commit}/model-{i}.safetensors') as r, open(f'${out}/{i}.bin', 'wb') as f:`,
      '      for chunk in r.iter_bytes(chunk_size=10 * 1024 * 1024): f.write(chunk)',
      'print(time.perf_counter() - t)',
    ].join('\n');
    return Number(await py(srv.url, code, join(dir, 'unused-cache')));
  };
  const cache = join(dir, 'hf-cache');
  // alternating, best of 3 each: the machine's other load hits all three alike
  let curlS = Infinity;
  let httpxS = Infinity;
  let hubS = Infinity;
  for (let round = 0; round < 3; round++) {
    curlS = Math.min(curlS, await curlOnce());
    await rm(join(dir, 'curl'), { recursive: true, force: true });
    httpxS = Math.min(httpxS, await httpxOnce());
    await rm(join(dir, 'httpx'), { recursive: true, force: true });
    hubS = Math.min(hubS, await hubOnce(cache));
  }

  // the cache now holds the snapshot: a download at the commit id must not ask the server anything
  const fetchOne = (revision: string) =>
    `from huggingface_hub import hf_hub_download\nprint(hf_hub_download(${JSON.stringify(REPO)}, 'model-0.safetensors', revision=${JSON.stringify(revision)}))`;
  let before = await requestCounts(srv.url);
  await py(srv.url, fetchOne(commit), cache);
  const atCommit = delta(before, await requestCounts(srv.url));
  before = await requestCounts(srv.url);
  await py(srv.url, fetchOne('champion'), cache);
  const atAlias = delta(before, await requestCounts(srv.url));

  // the HEAD a cached download at an alias makes, timed from a keep-alive client
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const timedHead = (url: string, ok: (res: IncomingMessage) => boolean) =>
    new Promise<number>((resolve, reject) => {
      const s = performance.now();
      const req = request(url, { method: 'HEAD', agent, headers: { 'accept-encoding': 'identity' } }, (res) => {
        res.resume();
        res.on('end', () => (ok(res) ? resolve(performance.now() - s) : reject(new Error(`HEAD ${url} answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  const head = () =>
    timedHead(`${srv.url}/${REPO}/resolve/champion/model-0.safetensors`, (res) => res.statusCode === 200 && res.headers['x-repo-commit'] === commit);
  // the baseline: the native blob HEAD (a stat of the blob store, no registry lookup), interleaved
  // on the same connection, so a tail both share is the machine's, not the Hub front's
  const blobHead = () => timedHead(`${srv.url}/api/v1/blobs/${shas[0]}`, (res) => res.statusCode === 200);
  for (let i = 0; i < 200; i++) await head();
  const times: number[] = [];
  const blobTimes: number[] = [];
  const bucketsBefore = await headBuckets(srv.url);
  for (let i = 0; i < HEADS; i++) {
    times.push(await head());
    blobTimes.push(await blobHead());
  }
  const bucketsAfter = await headBuckets(srv.url);
  const within = (le: string) => ((bucketsAfter.get(le) ?? 0) - (bucketsBefore.get(le) ?? 0)) / HEADS;
  agent.destroy();
  times.sort((a, b) => a - b);
  blobTimes.sort((a, b) => a - b);
  const pctOf = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;
  const pct = (p: number) => pctOf(times, p);

  console.log(
    table([
      [`download of ${FILES} files, ${fmt(bytes / 2 ** 30, 2)} GiB`, 'seconds', 'MB/s'],
      ['curl, native blob endpoint (baseline)', fmt(curlS, 2), fmt(mbps(curlS), 0)],
      ['python httpx, /resolve (client ceiling)', fmt(httpxS, 2), fmt(mbps(httpxS), 0)],
      ['huggingface_hub snapshot_download @alias', fmt(hubS, 2), fmt(mbps(hubS), 0)],
    ]),
  );
  console.log(`ratio snapshot_download/curl: ${fmt(curlS / hubS, 2)}x (target >= 0.8x); snapshot_download/httpx: ${fmt(httpxS / hubS, 2)}x`);
  const show = (d: Record<string, number>) =>
    Object.keys(d).length
      ? Object.entries(d)
          .map(([k, n]) => `${n}× ${k}`)
          .join(', ')
      : 'none';
  const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0);
  console.log(`hf_hub_download of a cached file at the commit id: ${total(atCommit)} request(s) (${show(atCommit)}) (target 0)`);
  console.log(`hf_hub_download of a cached file at an alias: ${total(atAlias)} request(s) (${show(atAlias)}) (target exactly one HEAD)`);
  console.log(
    `HEAD /resolve at an alias, ${HEADS} sequential on one keep-alive connection: p50 ${fmt(pct(50), 3)} ms, p99 ${fmt(pct(99), 3)} ms (target p99 < 2 ms)`,
  );
  console.log(
    `  baseline, native HEAD /api/v1/blobs/{sha256} interleaved: p50 ${fmt(pctOf(blobTimes, 50), 3)} ms, p99 ${fmt(pctOf(blobTimes, 99), 3)} ms` +
      ` (alias HEAD p99 / baseline p99: ${fmt(pct(99) / pctOf(blobTimes, 99), 2)}x)`,
  );
  // the server's own clock (request in to answer written), without the client's scheduling: the histogram's bounds
  console.log(
    `  answered by the server within 1 ms: ${fmt(within('0.001') * 100, 2)}%, within 2.5 ms: ${fmt(within('0.0025') * 100, 2)}% (p99 < 2 ms needs >= 99% within 2 ms)`,
  );
} finally {
  await srv.stop();
  await cleanup();
}
