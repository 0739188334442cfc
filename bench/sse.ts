/**
 * The event stream under a burst: N followers of GET /api/v1/events (text/event-stream) each
 * receive every event of a burst of alias moves; reports the commit-to-receive latency (the
 * event's timestamp, written in the committing transaction, to the moment a follower parsed
 * it), with one follower side by side in the same run. Target (issue 9): 100 followers each
 * receive every event of 1,000 moves within 1 s of its commit.
 *   npx tsx bench/sse.ts [--followers 100] [--moves 1000]
 */
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { startBerth, tempDir, table, fmt } from './lib.js';

const arg = (name: string, def: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || def;
const followers = arg('followers', 100);
const moves = arg('moves', 1000);

interface Follower {
  latencies: number[];
  seqs: number[];
  close(): void;
}

/** A raw SSE reader: the cheapest client, so the figures are the server's. */
function follow(url: string, after: number): Promise<Follower> {
  return new Promise((resolve, reject) => {
    const f: Follower = { latencies: [], seqs: [], close: () => req.destroy() };
    let buf = '';
    const req = request(`${url}/api/v1/events?after=${after}&types=alias.moved`, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`events answered ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = Date.now();
        buf += chunk;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const e = JSON.parse(data.slice(6)) as { seq: number; timestamp: string };
          f.seqs.push(e.seq);
          f.latencies.push(now - Date.parse(e.timestamp));
        }
      });
      res.on('error', () => {});
      resolve(f);
    });
    req.on('error', reject);
    req.end();
  });
}

async function json(url: string, method: string, body?: unknown): Promise<{ seq?: number }> {
  const r = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { seq?: number };
}

async function lastSeq(url: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = (await json(`${url}/api/v1/events?after=${after}&limit=1000`, 'GET')) as { items: { seq: number }[]; next_cursor: string | null };
    after = page.items.at(-1)?.seq ?? after;
    if (!page.next_cursor) return after;
  }
}

/** How many times each worker's alias has moved, across bursts: the next move is always to the other version. */
const flips = [0, 0, 0, 0];

/** Moves aliases `n` times, 4 requests in flight: each worker flips its own alias, so every request moves one. */
async function burst(url: string, n: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      while (next < n) {
        const i = next++;
        const flip = flips[w]!++;
        await json(`${url}/api/v1/models/chatbot/aliases/bench-${w}`, 'PUT', { version: (flip % 2) + 1, reason: `bench move ${i}` });
      }
    }),
  );
  return performance.now() - t0;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function phase(url: string, count: number): Promise<(string | number)[]> {
  const after = await lastSeq(url);
  const fs = await Promise.all(Array.from({ length: count }, () => follow(url, after)));
  const ms = await burst(url, moves);
  const deadline = Date.now() + 30_000;
  while (fs.some((f) => f.seqs.length < moves) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const f of fs) f.close();
  const complete = fs.filter((f) => f.seqs.length === moves && f.seqs.every((s, i) => s === after + 1 + i)).length;
  const all = fs.flatMap((f) => f.latencies).sort((a, b) => a - b);
  return [
    `${count} follower${count === 1 ? '' : 's'}`,
    `${complete}/${count}`,
    fmt((moves / ms) * 1000, 0),
    quantile(all, 0.5),
    quantile(all, 0.99),
    all.at(-1) ?? Number.NaN,
  ];
}

const { dir, cleanup } = await tempDir('berth-bench-sse-');
const srv = await startBerth(dir);
try {
  const content = 'weights';
  const sha = createHash('sha256').update(content).digest('hex');
  await fetch(`${srv.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: content });
  for (let i = 0; i < 2; i++)
    await json(`${srv.url}/api/v1/models/chatbot/versions`, 'POST', { files: [{ path: 'w.bin', size: content.length, sha256: sha }] });
  // Warm up: a short burst with one follower.
  await phase(srv.url, 1);
  const one = await phase(srv.url, 1);
  const many = await phase(srv.url, followers);
  console.log(table([[`burst of ${moves} alias moves`, 'got every event, in order', 'moves/s', 'p50 ms', 'p99 ms', 'worst ms'], one, many]));
  console.log(`target: every follower gets every event, worst commit-to-receive <= 1000 ms (${followers} followers: ${many[5]} ms)`);
} finally {
  await srv.stop();
  await cleanup();
}
