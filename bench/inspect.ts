/**
 * Upload of a large safetensors file and of a torch zip checkpoint of the same size (stored
 * entries, a data.pkl walked by the pickle scanner) through PUT /api/v1/blobs, with inspection
 * on and, as the baseline in the same run, off (the registry's `inspectUploads: false`, which
 * only this benchmark sets). The server runs in this process, curl uploads from its own, runs
 * alternate on/off and the median counts. Also reports what the server process read during
 * each upload beyond the bytes that arrived (rchar of /proc/self/io, which counts socket
 * reads too) and what the inspection held in memory.
 * Targets (issue 10): inspected ≥ 0.9× uninspected; < 1 MiB read beyond the upload.
 *   npx tsx bench/inspect.ts [--gib 1] [--runs 3]
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock } from '@berth/server';
import { fmt, table, tempDir } from './lib.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const GIB = arg('gib', 1);
const RUNS = arg('runs', 3);
const MIB = 1024 * 1024;
const dataBytes = Math.round(GIB * 1024) * MIB;

const { dir, cleanup } = await tempDir('berth-bench-inspect-');

/** Writes `head`, then `dataBytes` of random-looking data (one random MiB repeated), then `tail`; returns the sha256. */
async function writeFile(path: string, head: Buffer, tail: Buffer = Buffer.alloc(0)): Promise<string> {
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  const chunk = randomBytes(MIB);
  const write = async (b: Buffer) => {
    hash.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', r));
  };
  await write(head);
  for (let n = 0; n < dataBytes / MIB; n++) await write(chunk);
  await write(tail);
  await new Promise((r) => out.end(r));
  return hash.digest('hex');
}

/** A safetensors header for 7B-model-like tensor names: 4096-wide F16 matrices filling `dataBytes`. */
function safetensorsHead(): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const rowBytes = 4096 * 2;
  let at = 0;
  for (let n = 0; at < dataBytes; n++) {
    const rows = Math.min(4096, (dataBytes - at) / rowBytes);
    header[`model.layers.${n >> 2}.mlp.proj_${n & 3}.weight`] = { dtype: 'F16', shape: [rows, 4096], data_offsets: [at, at + rows * rowBytes] };
    at += rows * rowBytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json]);
}

/** A torch.save-like zip: archive/data.pkl (stored), then one stored entry holding the tensor bytes. */
function zipParts(): { head: Buffer; tail: Buffer } {
  const pkl = Buffer.from('\x80\x02ccollections\nOrderedDict\n)Rq\x00X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n)Rs.', 'latin1');
  const local = (name: string, size: number) => {
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt32LE(size, 18);
    h.writeUInt32LE(size, 22);
    h.writeUInt16LE(name.length, 26);
    return Buffer.concat([h, Buffer.from(name)]);
  };
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  // Sizes over 4 GiB would need zip64; the --gib this benchmark is run with stays below.
  return { head: Buffer.concat([local('archive/data.pkl', pkl.length), pkl, local('archive/data/0', dataBytes % 2 ** 32)]), tail: end };
}

function rchar(): number {
  return Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
}

async function server(name: string, inspectUploads: boolean) {
  const store = await openStore(`sqlite:${join(dir, `${name}.db`)}`);
  const blobs = await FsBlobStore.open(join(dir, `${name}-blobs`));
  const registry = new Registry({ store, blobs, clock: systemClock, config: { ...DEFAULT_REGISTRY_CONFIG, inspectUploads } });
  const app = await buildApp({ registry, logger: false, bodyLimit: 16 * MIB, authRequired: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    store,
    blobs,
    app,
    url,
    async close() {
      await app.close();
      await blobs.close();
      await store.close();
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

try {
  const files = {
    safetensors: { path: join(dir, 'model.safetensors'), ...{ head: safetensorsHead(), tail: Buffer.alloc(0) } },
    'torch zip': { path: join(dir, 'model.pt'), ...zipParts() },
  };
  const on = await server('on', true);
  const off = await server('off', false);
  const rows: (string | number)[][] = [['file', 'inspection', 'MB/s (median)', 'runs MB/s', 'read beyond upload', 'held by inspection']];
  const ratios: string[] = [];
  const readByInspection: string[] = [];
  for (const [kind, f] of Object.entries(files)) {
    const sha = await writeFile(f.path, f.head, f.tail);
    const size = f.head.length + dataBytes + f.tail.length;
    const results = { on: [] as number[], off: [] as number[], extraOn: [] as number[], extraOff: [] as number[] };
    for (let r = 0; r < RUNS; r++) {
      // Each side goes first every other run, so neither always meets a colder machine.
      const sides = [
        ['on', on],
        ['off', off],
      ] as const;
      for (const [side, s] of r % 2 === 0 ? sides : [...sides].reverse()) {
        spawnSync('sh', ['-c', `cat ${JSON.stringify(f.path)} > /dev/null`]);
        const before = rchar();
        const t0 = performance.now();
        // Not spawnSync: the server answering curl runs on this event loop.
        const curl = spawn('curl', ['-sS', '-f', '-T', f.path, '-X', 'PUT', '-H', 'content-type: application/octet-stream', `${s.url}/api/v1/blobs/${sha}`], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const [status] = await once(curl, 'exit');
        const seconds = (performance.now() - t0) / 1000;
        if (status !== 0) throw new Error(`upload failed: curl exited ${status}`);
        // rchar counts the socket (size) and, once reaped, curl's read of the file (size again).
        const extra = rchar() - before - 2 * size;
        results[side].push(size / 1e6 / seconds);
        (side === 'on' ? results.extraOn : results.extraOff).push(extra);
        await s.blobs.delete(sha);
      }
    }
    const found = (await on.store.read.blobInspections.findMany([sha])).get(sha);
    const held =
      found?.format === 'safetensors' ? `${found.header_bytes + 8} B (header; ${found.tensors} tensors)` : found ? `pickle walk (${found.format})` : 'nothing';
    for (const side of ['on', 'off'] as const) {
      const extra = median(side === 'on' ? results.extraOn : results.extraOff);
      rows.push([
        kind,
        side,
        fmt(median(results[side])),
        results[side].map((x) => fmt(x, 0)).join(' '),
        `${fmt(extra / 1024)} KiB`,
        side === 'on' ? held : '-',
      ]);
    }
    readByInspection.push(`${kind}: ${fmt((median(results.extraOn) - median(results.extraOff)) / 1024)} KiB`);
    ratios.push(`${kind}: inspected/uninspected = ${fmt(median(results.on) / median(results.off), 2)}x (target >= 0.9x)`);
  }
  await on.close();
  await off.close();
  console.log(`inspection on upload: ${fmt(dataBytes / 2 ** 30, 2)} GiB of tensor bytes per file, ${RUNS} alternating runs per side\n`);
  console.log(table(rows));
  console.log(`\n${ratios.join('\n')}`);
  console.log(
    "read beyond upload: rchar of this process (the server) minus the bytes received and minus the reaped curl's read of the file; the rest is the database and the runtime, on both sides",
  );
  console.log(`read by inspection (on minus off; target < 1 MiB): ${readByInspection.join(', ')}`);
} finally {
  await cleanup();
}
