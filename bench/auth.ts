/**
 * Alias resolve with a bearer token, side by side with the same resolve without one, on the
 * same server in the same run (64 connections). Target (issue 9): with a token ≥ 0.9× without.
 * The token is looked up once, then answered from the in-process cache (docs/decisions/0013).
 *   npx tsx bench/auth.ts [--duration 10]
 */
import { createHash } from 'node:crypto';
import { berth, fmt, load, startBerth, table, tempDir } from './lib.js';

const duration = Number(process.argv[process.argv.indexOf('--duration') + 1]) || 10;
const { dir, cleanup } = await tempDir('berth-bench-auth-');
const srv = await startBerth(dir);
try {
  const made = await berth(['token', 'create', 'bench-reader', '--role', 'viewer'], { url: srv.url });
  if (made.code !== 0) throw new Error(made.stderr);
  const headers = { authorization: `Bearer ${made.stdout.trim()}` };
  const content = 'weights';
  const sha = createHash('sha256').update(content).digest('hex');
  await fetch(`${srv.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: content });
  const r = await fetch(`${srv.url}/api/v1/models/chatbot/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files: [{ path: 'w.bin', size: content.length, sha256: sha }] }),
  });
  if (!r.ok) throw new Error(await r.text());
  await fetch(`${srv.url}/api/v1/models/chatbot/aliases/champion`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"version":1}' });
  const url = `${srv.url}/api/v1/models/chatbot/aliases/champion`;
  for (const h of [{}, headers]) {
    const check = await fetch(url, { headers: h });
    if (check.status !== 200) throw new Error(`resolve answered ${check.status}: ${await check.text()}`);
  }

  // The ceiling: the same bytes in a header the server does not read. What a token costs beyond
  // this is the authentication itself; up to it, sending and parsing a longer request (the load
  // generator shares the machine's two cores with the server).
  const padding = { 'x-padding': headers.authorization };
  await load(url, { duration: 2 });
  await load(url, { duration: 2, headers });
  // Alternated, so drift of the machine over the run weighs on each alike.
  const plain = [await load(url, { duration: duration / 2 })];
  const token = [await load(url, { duration: duration / 2, headers })];
  const padded = [await load(url, { duration: duration / 2, headers: padding })];
  padded.push(await load(url, { duration: duration / 2, headers: padding }));
  token.push(await load(url, { duration: duration / 2, headers }));
  plain.push(await load(url, { duration: duration / 2 }));
  const avg = (xs: { rps: number }[]) => xs.reduce((s, x) => s + x.rps, 0) / xs.length;
  const worst = (xs: { p99: number }[]) => Math.max(...xs.map((x) => x.p99));
  const errors = (xs: { errors: number; non2xx: number }[]) => xs.reduce((s, x) => s + x.errors + x.non2xx, 0);
  console.log(
    table([
      ['alias resolve (64 connections)', 'req/s', 'p99 ms', 'errors'],
      ['no token (loopback local user)', fmt(avg(plain), 0), worst(plain), errors(plain)],
      ['same bytes, unread header (ceiling)', fmt(avg(padded), 0), worst(padded), errors(padded)],
      ['Authorization: Bearer <token>', fmt(avg(token), 0), worst(token), errors(token)],
    ]),
  );
  console.log(`ratio with token / without: ${fmt(avg(token) / avg(plain), 2)}x (target >= 0.9x)`);
  console.log(`ratio with token / same bytes unread: ${fmt(avg(token) / avg(padded), 2)}x (the cost of authenticating itself)`);
} finally {
  await srv.stop();
  await cleanup();
}
