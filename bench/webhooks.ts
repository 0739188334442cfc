/**
 * Webhook delivery: 1,000 alias moves, each an `alias.moved` event, to a local receiver that
 * checks every Standard Webhooks signature and deduplicates by `webhook-id`. Run twice on the
 * real `berth server` binary: once undisturbed, once killed with SIGKILL after half of the moves
 * and started again on the same data folder. Reports what the receiver saw: distinct events,
 * duplicates (at-least-once re-sends), arrivals out of order, bad signatures, missing events,
 * and the commit-to-receive latency. Target (issue 9): 1,000 delivered, correctly signed, in
 * order per endpoint, none lost, duplicates only beyond at-least-once.
 *   npx tsx bench/webhooks.ts [--moves 1000]
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBerth, tempDir, table, fmt } from './lib.js';

const moves = Number(process.argv[process.argv.indexOf('--moves') + 1]) || 1000;
const ENV = { BERTH_WEBHOOK_ALLOW_PRIVATE: '1' };

interface Seen {
  distinct: Set<string>;
  duplicates: number;
  outOfOrder: number;
  badSignature: number;
  maxSeq: number;
  latencies: number[];
  lastAt: number;
}

/** The receiver: verifies, deduplicates by webhook-id, counts order by the event seq. */
async function startReceiver(key: () => Buffer | undefined) {
  const seen: Seen = { distinct: new Set(), duplicates: 0, outOfOrder: 0, badSignature: 0, maxSeq: 0, latencies: [], lastAt: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const ts = String(req.headers['webhook-timestamp']);
      const k = key();
      const want = k && `v1,${createHmac('sha256', k).update(`${id}.${ts}.${body}`).digest('base64')}`;
      if (req.headers['webhook-signature'] !== want) seen.badSignature++;
      const e = JSON.parse(body) as { seq: number; type: string; timestamp: string };
      if (e.type === 'alias.moved') {
        if (seen.distinct.has(id)) seen.duplicates++;
        else {
          seen.distinct.add(id);
          if (e.seq < seen.maxSeq) seen.outOfOrder++;
          seen.maxSeq = Math.max(seen.maxSeq, e.seq);
          seen.latencies.push(Date.now() - Date.parse(e.timestamp));
          seen.lastAt = Date.now();
        }
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function api(url: string, method: string, path: string, body?: unknown, raw = false): Promise<unknown> {
  const r = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' },
    body: body === undefined ? undefined : raw ? String(body) : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? undefined : r.json();
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
}

async function scenario(kill: boolean): Promise<(string | number)[]> {
  const { dir, cleanup } = await tempDir('berth-bench-webhooks-');
  let secret: Buffer | undefined;
  const rx = await startReceiver(() => secret);
  let srv = await startBerth(dir, [], ENV);
  try {
    const w = (await api(srv.url, 'POST', '/webhooks', { url: rx.url, events: ['alias.moved'] })) as { secret: string };
    secret = Buffer.from(w.secret.slice('whsec_'.length), 'base64');
    const content = 'weights';
    const sha = (await import('node:crypto')).createHash('sha256').update(content).digest('hex');
    await api(srv.url, 'PUT', `/blobs/${sha}`, content, true);
    for (let i = 0; i < 2; i++) await api(srv.url, 'POST', '/models/chatbot/versions', { files: [{ path: 'w', size: content.length, sha256: sha }] });
    const t0 = Date.now();
    let restartMs = 0;
    for (let i = 0; i < moves; i++) {
      if (kill && i === moves / 2) {
        await srv.stop('SIGKILL');
        const r0 = Date.now();
        srv = await startBerth(dir, [], ENV);
        restartMs = Date.now() - r0;
      }
      await api(srv.url, 'PUT', '/models/chatbot/aliases/staging', { version: (i % 2) + 1 });
    }
    const movedMs = Date.now() - t0;
    await waitFor(() => rx.seen.distinct.size >= moves, 120_000);
    // Late duplicates, if any, arrive within a moment.
    await new Promise((r) => setTimeout(r, 500));
    const s = rx.seen;
    return [
      kill ? `killed (SIGKILL) after ${moves / 2}, restarted in ${restartMs} ms` : 'undisturbed',
      moves,
      s.distinct.size,
      s.duplicates,
      s.outOfOrder,
      s.badSignature,
      moves - s.distinct.size,
      fmt(movedMs / 1000, 2),
      fmt((s.lastAt - t0) / 1000, 2),
      pct(s.latencies, 50),
      pct(s.latencies, 99),
    ];
  } finally {
    await srv.stop();
    await rx.close();
    await cleanup();
  }
}

const rows = [await scenario(false), await scenario(true)];
console.log(
  table([['run', 'moves', 'distinct', 'duplicates', 'out of order', 'bad signature', 'missing', 'moves s', 'last delivery s', 'p50 ms', 'p99 ms'], ...rows]),
);
console.log('target: distinct = moves, missing 0, out of order 0, bad signature 0; duplicates only after the kill (at-least-once)');
