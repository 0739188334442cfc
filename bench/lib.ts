import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

export { startBerth, berth, tempDir, ROOT, BIN } from '../e2e/support.js';

/** A bare Fastify hello-world in its own process: the baseline for request rates. */
export async function startHelloWorld(): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const code = `
    const Fastify = (await import('fastify')).default;
    const app = Fastify({ logger: false });
    app.get('/', async () => ({ hello: 'world' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    console.log('listening on http://127.0.0.1:' + app.server.address().port);
  `;
  return startScript(code, 'packages/server');
}

/** A minimal Node static file server (fs stream piped to the socket): the transfer baseline. */
export async function startStaticServer(file: string): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const code = `
    import { createServer } from 'node:http';
    import { createReadStream, statSync } from 'node:fs';
    const file = ${JSON.stringify(file)};
    const size = statSync(file).size;
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
      createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res);
    });
    server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
  `;
  return startScript(code, '.');
}

/**
 * The ceiling for any server that verifies what it receives: a bare Node server that reads a
 * request body, sha256-hashes it and throws it away (no disk, no framework). With
 * `hash: false` it only reads and discards: the ceiling for any Node server at all.
 */
export async function startHashSink(opts: { hash?: boolean } = {}): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const code = `
    import { createServer } from 'node:http';
    import { createHash } from 'node:crypto';
    const hashing = ${opts.hash !== false};
    const server = createServer((req, res) => {
      const h = createHash('sha256');
      req.on('data', (c) => { if (hashing) h.update(c); });
      req.on('end', () => res.end(h.digest('hex')));
    });
    server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
  `;
  return startScript(code, '.');
}

function startScript(code: string, cwdRel: string) {
  return spawnListening(['--input-type=module', '-e', code], cwdRel);
}

/**
 * A Node process of its own (`node <args>` in ROOT/<cwdRel>) that prints `listening on <url>`
 * once it serves: the benchmarks' baselines, fakes and proxies.
 */
export async function spawnListening(args: string[], cwdRel = '.'): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const { ROOT } = await import('../e2e/support.js');
  const proc = spawn(process.execPath, args, { cwd: `${ROOT}/${cwdRel}`, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    proc.once('exit', (c) => rej(new Error(`${args.join(' ').slice(0, 80)} exited ${c}`)));
  });
  return {
    url,
    proc,
    async stop() {
      proc.kill('SIGTERM');
      await once(proc, 'exit');
    },
  };
}

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** A real `mlflow server` (SQLite backend, proxied artifacts under `dir`), waited for on /health. */
export async function startMlflow(mlflow: string, dir: string, timeoutS = 60): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const args = ['server', '--host', '127.0.0.1', '--port', String(port), '--backend-store-uri', `sqlite:///${dir}/mlflow.db`];
  const proc = spawn(mlflow, [...args, '--serve-artifacts', '--artifacts-destination', `${dir}/artifacts`], {
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < timeoutS * 10; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, proc };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mlflow server did not start in ${timeoutS} s`);
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export async function load(url: string, opts: { connections?: number; duration?: number; headers?: Record<string, string> } = {}): Promise<LoadResult> {
  const r = await autocannon({ url, connections: opts.connections ?? 64, duration: opts.duration ?? 10, pipelining: 1, headers: opts.headers });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

/** Samples a process's resident set every 50 ms and reports the peak (VmHWM as a cross-check). */
export function rssSampler(pid: number): { stop(): { peakMb: number; hwmMb: number } } {
  let peak = 0;
  const read = (field: string) => {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  const timer = setInterval(() => (peak = Math.max(peak, read('VmRSS'))), 50);
  return {
    stop() {
      clearInterval(timer);
      return { peakMb: Math.max(peak, read('VmRSS')), hwmMb: read('VmHWM') };
    },
  };
}

export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function table(rows: (string | number)[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}
