import { createHash } from 'node:crypto';
import { lstat, mkdir, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BerthError, invalid, isSha256Hex, parseReference, validateFilePath, type ManifestFile, type Version } from '@berth/core';
import type { BerthClient } from '../index.js';
import { fsError, hashInto, inside } from './local-fs.js';
import { pool } from './pool.js';
import type { Progress } from './progress.js';
import { receiveInto } from './receive.js';
import { nodeBody } from './transport.js';

export interface PullOptions {
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  onProgress?: (p: Progress) => void;
}

export interface PullResult {
  version: Version;
  files: ManifestFile[];
  downloaded_bytes: number;
  reused_bytes: number;
}

export const PARTIAL_SUFFIX = '.berth-partial';

async function lstatOrUndefined(p: string) {
  return lstat(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw fsError(err, p);
  });
}

/** Creates `dir` below `realOut`, refusing when an existing symbolic link would carry it elsewhere. */
async function safeMkdir(realOut: string, dir: string, shown: string): Promise<void> {
  let probe = dir;
  for (;;) {
    const real = await realpath(probe).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(fsError(err, probe))));
    if (real !== undefined) {
      if (!inside(realOut, real)) throw invalid(`refusing to write ${shown}: ${probe} links outside the output folder`, { path: shown });
      break;
    }
    probe = dirname(probe);
  }
  await mkdir(dir, { recursive: true }).catch((err) => Promise.reject(fsError(err, dir)));
  if (!inside(realOut, await realpath(dir))) throw invalid(`refusing to write ${shown}: ${dir} links outside the output folder`, { path: shown });
}

/**
 * Downloads a version into `outDir`, verifying every file's sha256. Each file streams into
 * `<path>.berth-partial`; an interrupted pull resumes from the partial file with a Range
 * request (hashing the part it already has first); files already present with the right hash
 * are kept. `ref` is a reference string or a Version already resolved (so a caller that named
 * the folder after the version gets exactly that version, even if an alias moved since).
 */
export async function pullVersion(client: BerthClient, ref: string | Version, outDir: string, opts: PullOptions = {}): Promise<PullResult> {
  let version: Version;
  if (typeof ref === 'string') {
    parseReference(ref);
    version = await client.resolve(ref);
  } else version = ref.files ? ref : await client.getVersion(ref.model, ref.version);
  const files = version.files ?? [];
  const out = resolve(outDir);
  // Defence in depth: the server validated these paths, but a manifest must never write
  // outside outDir, whoever produced it. Everything is checked before anything is written.
  for (const f of files) {
    validateFilePath(f.path);
    if (!isSha256Hex(f.sha256) || !Number.isSafeInteger(f.size) || f.size < 0)
      throw invalid(`the manifest entry for ${JSON.stringify(f.path)} is malformed`, { path: f.path });
    if (!inside(out, resolve(out, f.path)) || resolve(out, f.path) === out)
      throw invalid(`refusing to write ${JSON.stringify(f.path)} outside ${outDir}`, { path: f.path });
  }
  await mkdir(out, { recursive: true }).catch((err) => Promise.reject(fsError(err, out)));
  const realOut = await realpath(out);
  const total = files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  let downloaded = 0;
  let reused = 0;
  const progress = (phase: Progress['phase'], file: string) => opts.onProgress?.({ phase, done, total, file });

  await pool(files, opts.concurrency ?? 4, async (f) => {
    const dest = join(out, f.path);
    await safeMkdir(realOut, dirname(dest), f.path);

    // already there?
    const present = await lstatOrUndefined(dest);
    if (present?.isFile() && present.size === f.size) {
      const h = createHash('sha256');
      let seen = 0;
      await hashInto(dest, h, (n) => {
        seen += n;
        done += n;
        progress('verify', f.path);
      }).catch((err) => Promise.reject(fsError(err, dest)));
      if (h.digest('hex') === f.sha256) {
        reused += f.size;
        return;
      }
      done -= seen;
    }

    const partial = dest + PARTIAL_SUFFIX;
    const ps = await lstatOrUndefined(partial);
    let have = ps?.isFile() ? ps.size : 0;
    if (ps && (!ps.isFile() || ps.size > f.size)) {
      // a link, a folder or an overlong leftover: never write through it, start over
      await unlink(partial).catch((err) => Promise.reject(fsError(err, partial)));
      have = 0;
    }
    let h = createHash('sha256');
    if (have > 0) {
      await hashInto(partial, h, (n) => {
        done += n;
        progress('verify', f.path);
      }).catch((err) => Promise.reject(fsError(err, partial)));
    }
    let got = 0;
    if (f.size === 0) {
      await writeFile(partial, new Uint8Array()).catch((err) => Promise.reject(fsError(err, partial)));
    } else if (have < f.size) {
      const res = await client.getBlob(f.sha256, have > 0 ? { start: have } : undefined);
      const resumed = have > 0 && res.status === 206 && (res.headers.get('content-range') ?? '').startsWith(`bytes ${have}-`);
      if (have > 0 && !resumed) {
        // the server sent the whole blob (or another range): throw the partial away
        done -= have;
        have = 0;
        h = createHash('sha256');
      }
      try {
        await receiveInto(nodeBody(res), partial, have > 0, (chunk) => {
          h.update(chunk);
          got += chunk.length;
          done += chunk.length;
          downloaded += chunk.length;
          progress('download', f.path);
        });
      } catch (err) {
        if (err instanceof BerthError) throw err;
        const why = (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
        throw new BerthError(
          'INTERNAL',
          `the download of ${f.path} from ${client.url} was interrupted (${why}) after ${have + got} of ${f.size} bytes: run the same pull again to resume`,
          {
            path: f.path,
            received: have + got,
          },
        );
      }
    }
    const actual = h.digest('hex');
    if (have + got !== f.size || actual !== f.sha256) {
      await unlink(partial).catch(() => {});
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${f.path} failed verification: got ${have + got} bytes with sha256 ${actual}, expected ${f.size} bytes with sha256 ${f.sha256}; the partial file was removed: run the pull again`,
        { path: f.path, expected: f.sha256, actual, expected_size: f.size, actual_size: have + got },
      );
    }
    reused += have;
    // No fsync: a file cut short by a crash fails its hash on the next pull and is fetched again.
    await rename(partial, dest).catch((err) => Promise.reject(fsError(err, dest)));
  });
  return { version, files, downloaded_bytes: downloaded, reused_bytes: reused };
}
