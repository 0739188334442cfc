/**
 * Alias resolve (GET the version an alias points at) at 64 concurrent connections, side by
 * side with a bare Fastify hello-world in the same run. Target (issue 2): ≥ 0.5× the
 * hello-world's requests/s, p99 ≤ 5 ms.
 *   npx tsx bench/alias-resolve.ts [--duration 10]
 */
import { createHash } from 'node:crypto';
import { startBerth, startHelloWorld, load, tempDir, table, fmt } from './lib.js';

const duration = Number(process.argv[process.argv.indexOf('--duration') + 1]) || 10;
const { dir, cleanup } = await tempDir('berth-bench-');
const berthSrv = await startBerth(dir);
const hello = await startHelloWorld();
try {
  const content = 'weights';
  const sha = createHash('sha256').update(content).digest('hex');
  await fetch(`${berthSrv.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: content });
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${berthSrv.url}/api/v1/models/chatbot/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files: [{ path: 'w.bin', size: content.length, sha256: sha }], metadata: { val_loss: 0.3, i } }),
    });
    if (!r.ok) throw new Error(await r.text());
  }
  await fetch(`${berthSrv.url}/api/v1/models/chatbot/aliases/champion`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: 2 }),
  });
  const aliasUrl = `${berthSrv.url}/api/v1/models/chatbot/aliases/champion`;
  const check = await (await fetch(aliasUrl)).json();
  if (check.version !== 2) throw new Error(`unexpected resolve: ${JSON.stringify(check)}`);

  // warm both up, then measure alternately
  await load(hello.url, { duration: 2 });
  await load(aliasUrl, { duration: 2 });
  const base = await load(hello.url, { duration });
  const ours = await load(aliasUrl, { duration });
  console.log(
    table([
      ['workload (64 connections)', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
      ['fastify hello-world (baseline)', fmt(base.rps, 0), base.p50, base.p99, base.errors + base.non2xx],
      ['berth alias resolve', fmt(ours.rps, 0), ours.p50, ours.p99, ours.errors + ours.non2xx],
    ]),
  );
  console.log(`ratio berth/baseline: ${fmt(ours.rps / base.rps, 2)}x (target >= 0.5x), berth p99 ${ours.p99} ms (target <= 5 ms)`);
} finally {
  await hello.stop();
  await berthSrv.stop();
  await cleanup();
}
