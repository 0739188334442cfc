/**
 * 1,000 versions registered one after another (small files), the way `berth push` sends a
 * small version: one commit carrying the file inline. For comparison, the same through the
 * three-request upload protocol that larger files use (open upload → PUT the missing blob →
 * commit). Target (issue 2): ≥ 300 versions/s on SQLite. Both use the SDK's node:http
 * transport (what `berth push` uses). Baseline in the same run: the same number of
 * sequential 3-request rounds against a bare Fastify hello-world (what three loopback round
 * trips cost with no work behind them).
 *   npx tsx bench/register.ts [--count 1000]
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BerthClient } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import { startBerth, startHelloWorld, tempDir, table, fmt } from './lib.js';

const i = process.argv.indexOf('--count');
const COUNT = i > 0 ? Number(process.argv[i + 1]) : 1000;
const { dir, cleanup } = await tempDir('berth-bench-reg-');
const srv = await startBerth(dir);
const hello = await startHelloWorld();
const client = new BerthClient({ url: srv.url, fetch: nodeFetch });
try {
  let s = performance.now();
  for (let n = 0; n < COUNT; n++) {
    for (let k = 0; k < 3; k++) await (await nodeFetch(hello.url)).arrayBuffer();
  }
  const baseS = (performance.now() - s) / 1000;

  s = performance.now();
  for (let n = 0; n < COUNT; n++) {
    const content = `checkpoint ${n} ${'x'.repeat(200)}`;
    const sha = createHash('sha256').update(content).digest('hex');
    const files = [{ path: 'model.bin', size: Buffer.byteLength(content), sha256: sha }];
    await client.commitVersion('bench', { files, blobs: [{ sha256: sha, base64: Buffer.from(content).toString('base64') }], metadata: { n } });
  }
  const oursS = (performance.now() - s) / 1000;

  s = performance.now();
  for (let n = 0; n < COUNT; n++) {
    const content = `session checkpoint ${n} ${'x'.repeat(200)}`;
    const sha = createHash('sha256').update(content).digest('hex');
    const files = [{ path: 'model.bin', size: Buffer.byteLength(content), sha256: sha }];
    const up = await client.openUpload(files);
    for (const missing of up.missing) await client.putBlob(missing, Buffer.from(content));
    await client.createVersion('bench-session', { files, upload_id: up.upload_id, metadata: { n } });
  }
  const sessionS = (performance.now() - s) / 1000;
  console.log(
    table([
      ['workload', 'count', 'seconds', 'per second'],
      ['hello-world, 3 sequential requests (baseline)', COUNT, fmt(baseS, 2), fmt(COUNT / baseS, 0)],
      ['berth register small version (one commit, file inline)', COUNT, fmt(oursS, 2), fmt(COUNT / oursS, 0)],
      ['berth register version (open upload + PUT blob + commit)', COUNT, fmt(sessionS, 2), fmt(COUNT / sessionS, 0)],
    ]),
  );
  console.log(`ratio berth/baseline: ${fmt(baseS / oursS, 2)}x; berth ${fmt(COUNT / oursS, 0)} versions/s (target >= 300/s)`);
} finally {
  await hello.stop();
  await srv.stop();
  await cleanup();
}
