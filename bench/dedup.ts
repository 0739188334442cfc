/**
 * A second version that changes 1 of 10 files uploads exactly that file's bytes (issue 2).
 * Baseline in the same run: the first push, which uploads everything.
 *   npx tsx bench/dedup.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { startBerth, berth, tempDir, table } from './lib.js';

const { dir, cleanup } = await tempDir('berth-bench-dedup-');
const v1 = join(dir, 'v1');
const v2 = join(dir, 'v2');
await mkdir(v1);
for (let n = 0; n < 10; n++) await writeFile(join(v1, `shard-${n}.bin`), randomBytes(1024 * 1024 * (n + 1)));
await cp(v1, v2, { recursive: true });
const changed = randomBytes(3 * 1024 * 1024 + 17);
await writeFile(join(v2, 'shard-4.bin'), changed);
const srv = await startBerth(join(dir, 'data'));
try {
  const a = await berth(['push', v1, '--model', 'dedup', '--json'], { url: srv.url });
  const b = await berth(['push', v2, '--model', 'dedup', '--json'], { url: srv.url });
  if (a.code !== 0 || b.code !== 0) throw new Error(a.stderr + b.stderr);
  const ra = JSON.parse(a.stdout);
  const rb = JSON.parse(b.stdout);
  console.log(
    table([
      ['push', 'files', 'uploaded bytes', 'skipped bytes'],
      ['v1: 10 new files (baseline)', 10, ra.uploaded_bytes, ra.skipped_bytes],
      ['v2: 1 of 10 files changed', 10, rb.uploaded_bytes, rb.skipped_bytes],
    ]),
  );
  console.log(
    `changed file is ${changed.length} bytes; v2 uploaded ${rb.uploaded_bytes} bytes: ${rb.uploaded_bytes === changed.length ? 'exactly that file' : 'MISMATCH'}`,
  );
} finally {
  await srv.stop();
  await cleanup();
}
