/**
 * Time travel at scale: 1,000,000 audit events and 10,000 alias moves, then "which version did
 * chatbot@champion point to at T?" for random T. Target (issue 2): p99 < 5 ms. Baseline in the
 * same run: GET /healthz on the same server (a request that touches no data).
 *   npx tsx bench/time-travel.ts [--events 1000000] [--moves 10000] [--queries 5000]
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { chainEvent, GENESIS_HASH } from '@berth/core';
import { openStore } from '@berth/server';
import { startBerth, tempDir, table, fmt, load } from './lib.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const EVENTS = arg('events', 1_000_000);
const MOVES = arg('moves', 10_000);
const QUERIES = arg('queries', 5000);

const { dir, cleanup } = await tempDir('berth-bench-tt-');
const dbFile = join(dir, 'berth.db');
await (await openStore(`sqlite:${dbFile}`)).close();

const t0 = performance.now();
const db = new Database(dbFile);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = OFF');
const start = Date.parse('2025-01-01T00:00:00Z');
const span = 365 * 24 * 3600 * 1000;
const VERSIONS = 100;
const insModel = db.prepare(
  `insert into models (name, kind, description, tags, protected_aliases, last_version, created_at, updated_at) values (?, 'model', '', '{}', '[]', ?, ?, ?)`,
);
const insVersion = db.prepare(
  `insert into versions (model_id, version, digest, status, stage, size, file_count, metadata, tags, description, source, run_id, dependencies, created_by, created_at, updated_at) values (?, ?, ?, 'READY', 'None', 1, 1, '{}', '{}', '', null, null, '[]', 'bench', ?, ?)`,
);
const insEvent = db.prepare(
  `insert into audit_events (seq, at, actor, action, model_id, model, subject_type, subject, before, after, reason, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const insHistory = db.prepare(
  `insert into alias_history (seq, model_id, alias, action, from_version, to_version, actor, at, reason) values (?, ?, ?, 'alias.set', ?, ?, 'bench', ?, ?)`,
);
const insAlias = db.prepare(`insert or replace into aliases (model_id, alias, version, frozen, updated_by, updated_at) values (?, ?, ?, 0, 'bench', ?)`);

const aliases = ['champion', 'challenger', 'staging', 'production'];
const current = new Map<string, number | null>();
let prev = GENESIS_HASH;
let seq = 0;
const models = 50;
db.transaction(() => {
  for (let m = 1; m <= models; m++) {
    insModel.run(m === 1 ? 'chatbot' : `model-${m}`, VERSIONS, start, start);
    for (let v = 1; v <= VERSIONS; v++) insVersion.run(m, v, `sha256:${String(m * 1000 + v).padStart(64, '0')}`, start, start);
  }
})();
// Spread MOVES alias moves evenly through EVENTS events; the rest are metadata edits.
const moveEvery = Math.floor(EVENTS / MOVES);
const batch = 50_000;
for (let b = 0; b < EVENTS; b += batch) {
  db.transaction(() => {
    for (let i = b; i < Math.min(EVENTS, b + batch); i++) {
      seq++;
      const at = start + Math.floor((i / EVENTS) * span);
      if (i % moveEvery === 0 && i / moveEvery < MOVES) {
        const modelId = 1 + ((i / moveEvery) % 5); // moves concentrate on a few models, champion on chatbot
        const alias = aliases[((i / moveEvery / 5) % aliases.length) | 0];
        const key = `${modelId}/${alias}`;
        const from = current.get(key) ?? null;
        const k = i / moveEvery;
        const to = 1 + ((Math.imul(k + 1, 2654435761) >>> 0) % VERSIONS);
        const e = chainEvent(prev, {
          seq,
          at,
          actor: 'bench',
          action: 'alias.set',
          model: modelId === 1 ? 'chatbot' : `model-${modelId}`,
          subject: `x@${alias}`,
          before: from === null ? null : { version: from },
          after: { version: to },
          reason: 'bench',
        });
        insEvent.run(
          seq,
          at,
          'bench',
          'alias.set',
          modelId,
          e.model,
          'alias',
          e.subject,
          JSON.stringify(e.before),
          JSON.stringify(e.after),
          'bench',
          e.prev_hash,
          e.hash,
        );
        insHistory.run(seq, modelId, alias, from, to, at, 'bench');
        insAlias.run(modelId, alias, to, at);
        current.set(key, to);
        prev = e.hash;
      } else {
        const modelId = 1 + (i % models);
        const e = chainEvent(prev, {
          seq,
          at,
          actor: 'bench',
          action: 'version.update',
          model: `m${modelId}`,
          subject: `m${modelId}:1`,
          before: null,
          after: { tags: { i: String(i) } },
          reason: null,
        });
        insEvent.run(seq, at, 'bench', 'version.update', modelId, e.model, 'version', e.subject, 'null', JSON.stringify(e.after), null, e.prev_hash, e.hash);
        prev = e.hash;
      }
    }
  })();
}
db.prepare('update audit_head set seq = ?, hash = ? where id = 1').run(seq, prev);
db.close();
const seedS = (performance.now() - t0) / 1000;
console.log(`seeded ${EVENTS.toLocaleString()} audit events, ${MOVES.toLocaleString()} alias moves in ${fmt(seedS)} s`);

const srv = await startBerth(dir);
try {
  async function timed(url: string): Promise<number> {
    const s = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return performance.now() - s;
  }
  const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;
  const tt: number[] = [];
  const hz: number[] = [];
  const answers = new Set<number | null>();
  for (let i = 0; i < 200; i++) await timed(`${srv.url}/healthz`);
  for (let i = 0; i < QUERIES; i++) {
    const t = new Date(start + Math.floor(Math.random() * span)).toISOString();
    hz.push(await timed(`${srv.url}/healthz`));
    const s = performance.now();
    const r = await fetch(`${srv.url}/api/v1/at?t=${t}&ref=chatbot@champion`);
    const body = await r.json();
    tt.push(performance.now() - s);
    answers.add(body.version);
  }
  const fixedT = new Date(start + span / 2).toISOString();
  const conc = await load(`${srv.url}/api/v1/at?t=${fixedT}&ref=chatbot@champion`, { duration: 5 });
  const model = await load(`${srv.url}/api/v1/models/chatbot/at?t=${fixedT}`, { duration: 5 });
  console.log(
    table([
      ['query (sequential, keep-alive)', 'p50 ms', 'p99 ms'],
      ['GET /healthz (baseline)', fmt(pct(hz, 0.5), 2), fmt(pct(hz, 0.99), 2)],
      ['GET /api/v1/at chatbot@champion, random T', fmt(pct(tt, 0.5), 2), fmt(pct(tt, 0.99), 2)],
    ]),
  );
  console.log(
    `distinct answers: ${answers.size} (${[...answers].slice(0, 5).join(', ')}…); at 64 connections: alias-at ${fmt(conc.rps, 0)} req/s p99 ${conc.p99} ms; model-at ${fmt(model.rps, 0)} req/s p99 ${model.p99} ms`,
  );
  console.log(`ratio p99 at/healthz: ${fmt(pct(tt, 0.99) / pct(hz, 0.99), 2)}x (target: p99 < 5 ms)`);
} finally {
  await srv.stop();
  await cleanup();
}
