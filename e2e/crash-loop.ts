import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startBerth, type ServerHandle } from './support.js';

/**
 * The crash loop (e2e/crash-loop.test.ts runs a few trials, bench/crash-loop.ts 200): clients
 * push, commit, move aliases and run GC against the real `berth server`; the server is killed
 * with SIGKILL after a random delay, restarted on the same data, and checked:
 * - the audit chain verifies (GET /api/v1/audit/verify);
 * - every READY version's files are in the blob store, whole;
 * - every alias points at a READY version;
 * - nothing acknowledged is lost: every version committed with a 201 is there with its files,
 *   and every alias holds the version of its last acknowledged move (or of the move that was in
 *   flight at the kill, which may or may not have landed).
 */

export interface CrashLoopOptions {
  trials: number;
  /** A blob folder and SQLite live here; with `pgUrl`, the metadata goes to that database instead. */
  data: string;
  pgUrl?: string;
  /** Concurrent client workers; each owns one model and its aliases, so each alias has one writer. */
  workers?: number;
  /** The kill comes this many milliseconds after the workload starts, at random in the range. */
  killAfterMs?: [number, number];
  seed?: number;
  log?: (line: string) => void;
}

export interface CrashLoopResult {
  trials: number;
  problems: string[];
  versionsAcknowledged: number;
  aliasMovesAcknowledged: number;
  gcRuns: number;
  /** Alias moves cut by the kill: sent, never answered (they may or may not have landed). */
  movesInFlightAtKill: number;
}

interface FileRef {
  path: string;
  sha256: string;
  size: number;
}

interface WorkerState {
  model: string;
  versions: Map<number, FileRef[]>;
  /** alias → version of its last acknowledged move */
  aliases: Map<string, number>;
  /** the alias move sent and not answered when the server died */
  pendingMove?: { alias: string; version: number };
}

/** A small seeded generator (mulberry32), so a run can be repeated with the same choices. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A fresh database beside the one in `base` (psql, so the harness needs no driver of its own); returns its URL. */
export function createPgDatabase(base: string, name: string): string {
  const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', base, '-c', `create database ${name}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`cannot create database ${name} with psql: ${r.error?.message ?? r.stderr}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export function dropPgDatabase(base: string, name: string): void {
  spawnSync('psql', ['-X', '-q', '-d', base, '-c', `drop database if exists ${name} with (force)`], { encoding: 'utf8' });
}

async function json(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One client worker: push + commit, alias moves, GC and abandoned uploads, until the server dies. */
async function workload(url: string, w: WorkerState, rnd: () => number, counts: CrashLoopResult, reused: Buffer[]): Promise<void> {
  for (;;) {
    const r = rnd();
    try {
      if (r < 0.5 || w.versions.size === 0) {
        const n = 1 + Math.floor(rnd() * 3);
        const files: { bytes: Buffer; ref: FileRef }[] = [];
        for (let i = 0; i < n; i++) {
          // Mostly small; now and then a few MiB, so the kill can land mid-upload; now and then a blob already stored (dedup).
          const old = reused[Math.floor(rnd() * reused.length)];
          const bytes = rnd() < 0.2 && old ? old : randomBytes(rnd() < 0.1 ? 2 * 1024 * 1024 + Math.floor(rnd() * 4096) : Math.floor(rnd() * 64 * 1024));
          files.push({ bytes, ref: { path: `f${i}.bin`, sha256: sha256(bytes), size: bytes.length } });
        }
        for (const f of files) {
          const put = await fetch(`${url}/api/v1/blobs/${f.ref.sha256}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream' },
            body: new Uint8Array(f.bytes),
          });
          await put.arrayBuffer();
          if (put.status >= 500) throw new Error(`PUT blob → ${put.status}`);
          if (reused.length < 50) reused.push(f.bytes);
        }
        const commit = await fetch(`${url}/api/v1/models/${w.model}/versions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ files: files.map((f) => f.ref) }),
        });
        const body = (await json(commit)) as { version?: number };
        // A GC with no grace period may remove a blob between its upload and the commit: a 412 then is correct.
        if (commit.status === 201 && typeof body.version === 'number') {
          w.versions.set(
            body.version,
            files.map((f) => f.ref),
          );
          counts.versionsAcknowledged++;
        }
      } else if (r < 0.85) {
        const alias = rnd() < 0.5 ? 'live' : 'canary';
        const choices = [...w.versions.keys()];
        const version = choices[Math.floor(rnd() * choices.length)] ?? 1;
        const current = w.aliases.get(alias);
        w.pendingMove = { alias, version };
        const res = await fetch(`${url}/api/v1/models/${w.model}/aliases/${alias}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ version, ...(current !== undefined ? { expect: current } : {}) }),
        });
        await res.arrayBuffer();
        if (res.status === 200 || res.status === 201) {
          w.aliases.set(alias, version);
          counts.aliasMovesAcknowledged++;
        }
        w.pendingMove = undefined;
      } else if (r < 0.93) {
        const res = await fetch(`${url}/api/v1/gc`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grace_seconds: rnd() < 0.5 ? 0 : 3600 }),
        });
        await res.arrayBuffer();
        if (res.ok) counts.gcRuns++;
      } else {
        // An abandoned push: an open upload session and a blob no version will reference (GC's food).
        const bytes = randomBytes(1 + Math.floor(rnd() * 32 * 1024));
        const ref = { path: 'orphan.bin', sha256: sha256(bytes), size: bytes.length };
        await (
          await fetch(`${url}/api/v1/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files: [ref] }) })
        ).arrayBuffer();
        await (
          await fetch(`${url}/api/v1/blobs/${ref.sha256}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream' },
            body: new Uint8Array(bytes),
          })
        ).arrayBuffer();
      }
    } catch {
      // The server is gone: what was in flight stays in flight.
      return;
    }
  }
}

/** Everything a restarted server must show; returns the problems found. */
async function check(server: ServerHandle, workers: WorkerState[], blobDir: string, hashed: Set<string>): Promise<string[]> {
  const url = server.url;
  const problems: string[] = [];
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: (await json(res)) as Record<string, unknown> };
  };
  const verify = await get('/api/v1/audit/verify');
  if (verify.status !== 200 || verify.body.ok !== true) problems.push(`audit verify: ${verify.status} ${JSON.stringify(verify.body)}`);

  for (const w of workers) {
    const found = new Map<number, { status: string }>();
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await get(`/api/v1/models/${w.model}/versions?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (page.status === 404) break;
      if (page.status !== 200) {
        problems.push(`${w.model}: listing versions → ${page.status} ${JSON.stringify(page.body)}`);
        break;
      }
      for (const v of page.body.items as { version: number; status: string }[]) found.set(v.version, v);
      cursor = page.body.next_cursor as string | null;
    }
    for (const version of w.versions.keys()) {
      if (!found.has(version)) problems.push(`${w.model} v${version}: acknowledged with 201, missing after restart`);
    }
    for (const [version, v] of found) {
      if (v.status !== 'READY') continue;
      let files = w.versions.get(version);
      const full = await get(`/api/v1/models/${w.model}/versions/${version}`);
      const listed = (full.body.files as FileRef[] | undefined) ?? [];
      if (files && JSON.stringify(listed.map((f) => [f.path, f.sha256, f.size])) !== JSON.stringify(files.map((f) => [f.path, f.sha256, f.size]))) {
        problems.push(`${w.model} v${version}: files differ from the acknowledged commit: ${JSON.stringify(listed)}`);
      }
      files = listed;
      for (const f of files) {
        // The blob store's layout (blobs/fs-blob-store.ts): sha256/<first two hex>/<sha>. Stat every time, hash once.
        const p = join(blobDir, 'sha256', f.sha256.slice(0, 2), f.sha256);
        const st = await stat(p).catch(() => undefined);
        if (!st) problems.push(`${w.model} v${version} is READY but its blob ${f.sha256} (${f.path}) is missing`);
        else if (st.size !== f.size) problems.push(`${w.model} v${version}: blob ${f.sha256} holds ${st.size} bytes, not ${f.size}`);
        else if (!hashed.has(f.sha256)) {
          if (sha256(await readFile(p)) !== f.sha256) problems.push(`${w.model} v${version}: blob ${f.sha256} holds other bytes`);
          else hashed.add(f.sha256);
        }
      }
    }
    const aliases = await get(`/api/v1/models/${w.model}/aliases`);
    const actual = new Map<string, number>();
    if (aliases.status === 200) {
      for (const a of (aliases.body.items as { alias: string; version: number }[] | undefined) ?? []) {
        actual.set(a.alias, a.version);
        const target = found.get(a.version);
        if (target?.status !== 'READY') problems.push(`${w.model}@${a.alias} points at v${a.version}, which is ${target ? target.status : 'missing'}`);
      }
    }
    for (const [alias, version] of w.aliases) {
      const now = actual.get(alias);
      const inFlight = w.pendingMove?.alias === alias ? w.pendingMove.version : undefined;
      if (now !== version && now !== inFlight)
        problems.push(`${w.model}@${alias}: last acknowledged move was to v${version}, after restart it is ${now ?? 'unset'}`);
    }
    // The next trial starts from what the server holds: a move in flight at the kill may have landed.
    for (const [alias, version] of actual) w.aliases.set(alias, version);
    w.pendingMove = undefined;
  }
  return problems;
}

/** Runs the trials; never throws for a problem found, only when the server cannot start. */
export async function runCrashLoop(opts: CrashLoopOptions): Promise<CrashLoopResult> {
  const rnd = random(opts.seed ?? 20261130);
  const [minKill, maxKill] = opts.killAfterMs ?? [30, 700];
  const extra = opts.pgUrl ? ['--db', opts.pgUrl] : [];
  const workers: WorkerState[] = Array.from({ length: opts.workers ?? 3 }, (_, i) => ({ model: `crash-${i}`, versions: new Map(), aliases: new Map() }));
  const result: CrashLoopResult = { trials: 0, problems: [], versionsAcknowledged: 0, aliasMovesAcknowledged: 0, gcRuns: 0, movesInFlightAtKill: 0 };
  const hashed = new Set<string>();
  const reused: Buffer[] = [];
  let server = await startBerth(opts.data, extra);
  try {
    for (let trial = 1; trial <= opts.trials; trial++) {
      const seeds = workers.map(() => Math.floor(rnd() * 2 ** 32));
      const running = workers.map((w, i) => workload(server.url, w, random(seeds[i] ?? i), result, reused));
      await new Promise((r) => setTimeout(r, minKill + rnd() * (maxKill - minKill)));
      await server.stop('SIGKILL');
      await Promise.all(running);
      result.movesInFlightAtKill += workers.filter((w) => w.pendingMove).length;
      server = await startBerth(opts.data, extra);
      const problems = await check(server, workers, join(opts.data, 'blobs'), hashed);
      result.trials++;
      for (const p of problems) result.problems.push(`trial ${trial}: ${p}`);
      opts.log?.(
        `trial ${trial}/${opts.trials}: ${result.versionsAcknowledged} versions and ${result.aliasMovesAcknowledged} alias moves acknowledged so far, ${problems.length} problems`,
      );
    }
  } finally {
    await server.stop();
  }
  return result;
}
