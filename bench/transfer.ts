/**
 * Push and pull of one 1 GiB file through the real CLI, side by side with curl downloading the
 * same file from a minimal Node static file server in the same run. Targets (issue 2): push ≥
 * 0.6× and pull ≥ 0.7× the baseline's throughput; server peak RSS < 200 MB during either.
 *   npx tsx bench/transfer.ts [--mib 1024]
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBerth, startStaticServer, berth, tempDir, rssSampler, table, fmt } from './lib.js';

const i = process.argv.indexOf('--mib');
const MIB = i > 0 ? Number(process.argv[i + 1]) : 1024;
const { dir, cleanup } = await tempDir('berth-bench-xfer-');
const src = join(dir, 'src');
await mkdir(src);
const file = join(src, 'weights.bin');
{
  const out = createWriteStream(file);
  const chunk = randomBytes(1024 * 1024);
  for (let n = 0; n < MIB; n++) if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  await new Promise((r) => out.end(r));
}
const bytes = MIB * 1024 * 1024;

/**
 * Before each measured run: write back and drop the page cache (root only; skipped
 * otherwise), then read the source file once, so every run starts from the same memory state.
 * On these VMs writing into never-touched page-cache memory is several times slower than into
 * reused memory, which otherwise decides the result more than the code does.
 */
function settle(): void {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not root: measure as is
  }
  // what each side reads comes from the page cache, as the baseline's file does
  spawnSync('sh', ['-c', `cat ${JSON.stringify(file)} > /dev/null; find ${JSON.stringify(join(dir, 'data', 'blobs', 'sha256'))} -type f -exec cat {} + > /dev/null 2>&1`]);
}
const mbps = (s: number) => bytes / 1e6 / s;

const stat = await startStaticServer(file);
const srv = await startBerth(join(dir, 'data'));
try {
  // baseline: curl from the static server, to /dev/null and to a file (best of 2 each)
  const curl = (target: string) => {
    settle();
    const s = performance.now();
    const r = spawnSync('curl', ['-sS', '-o', target, stat.url]);
    if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`);
    return (performance.now() - s) / 1000;
  };
  const curlFile = Math.min(curl(join(dir, 'curl.out')), curl(join(dir, 'curl.out')), curl(join(dir, 'curl.out')));
  const idle = rssSampler(srv.proc.pid!);
  const idleRss = idle.stop().peakMb;

  settle();
  const pushRss = rssSampler(srv.proc.pid!);
  let s = performance.now();
  const push = await berth(['push', src, '--model', 'big', '--json'], { url: srv.url });
  const pushS = (performance.now() - s) / 1000;
  const pushMem = pushRss.stop();
  if (push.code !== 0) throw new Error(`push failed: ${push.stderr}`);

  const pullRss = rssSampler(srv.proc.pid!);
  let pullS = Infinity;
  for (const target of ['pulled-a', 'pulled']) {
    await rm(join(dir, 'pulled'), { recursive: true, force: true });
    settle();
    s = performance.now();
    const pull = await berth(['pull', 'big:1', '-o', join(dir, target), '--json'], { url: srv.url });
    pullS = Math.min(pullS, (performance.now() - s) / 1000);
    if (pull.code !== 0) throw new Error(`pull failed: ${pull.stderr}`);
    if (target === 'pulled-a') await rm(join(dir, target), { recursive: true, force: true });
  }
  const pullMem = pullRss.stop();

  // the bytes that came back are the bytes that went in
  const h1 = spawnSync('sha256sum', [file]).stdout.toString().split(' ')[0];
  const h2 = spawnSync('sha256sum', [join(dir, 'pulled', 'weights.bin')]).stdout.toString().split(' ')[0];
  if (h1 !== h2) throw new Error('pulled file differs');
  void createHash;

  console.log(
    table([
      [`${MIB} MiB transfer`, 'seconds', 'MB/s', 'ratio', 'server peak RSS MB'],
      ['curl <- node static server (baseline, best of 3)', fmt(curlFile, 2), fmt(mbps(curlFile), 0), '1.00', '-'],
      ['berth push (hash + upload + commit)', fmt(pushS, 2), fmt(mbps(pushS), 0), fmt(curlFile / pushS, 2), fmt(pushMem.peakMb, 0)],
      ['berth pull (download + verify, best of 2)', fmt(pullS, 2), fmt(mbps(pullS), 0), fmt(curlFile / pullS, 2), fmt(pullMem.peakMb, 0)],
    ]),
  );
  console.log(`server RSS idle ${fmt(idleRss, 0)} MB, VmHWM after both ${fmt(pullMem.hwmMb, 0)} MB (targets: push >= 0.6x, pull >= 0.7x, peak < 200 MB)`);
} finally {
  await stat.stop();
  await srv.stop();
  await cleanup();
}
