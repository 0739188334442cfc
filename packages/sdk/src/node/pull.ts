import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdir, realpath, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError, invalid, isSha256Hex, parseReference, validateVersionPath, type ManifestFile, type Version } from '@berth/core';
import type { BerthClient } from '../index.js';
import { fsError, hashInto, inside } from './local-fs.js';
import { pool } from './pool.js';
import type { Progress } from './progress.js';
import { receiveInto } from './receive.js';
import { nodeBody } from './transport.js';

export interface PullOptions {
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  /** Replace files (or links) in the folder whose bytes differ from the version's; without it they are refused. */
  force?: boolean;
  onProgress?: (p: Progress) => void;
}

export interface PullResult {
  version: Version;
  files: ManifestFile[];
  downloaded_bytes: number;
  reused_bytes: number;
}

/**
 * The folder inside the output folder where downloads stream until they are verified. No
 * version path can name it or anything in it (core's `validateVersionPath` refuses `.berth*`
 * segments), so a partial download never shares a name with a file of the version.
 */
export const PARTIAL_DIR = '.berth-partial';

/** The name of `f`'s partial download in {@link PARTIAL_DIR}: its content and its path, so another version's file never resumes it. */
export function partialName(f: ManifestFile): string {
  return `${f.sha256}-${createHash('sha256').update(f.path).digest('hex').slice(0, 16)}`;
}

/** Differing files named in the refusal's message, and listed in its `details.paths`: enough to act on, bounded for a huge version. */
const NAMED = 5;
const LISTED = 100;

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  return lstat(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw fsError(err, p);
  });
}

/**
 * Checks the folders leading to `rel` (a folder path inside `realOut`) that already exist: each
 * must be a folder, or a symbolic link to a folder inside `realOut`. Nothing is created.
 */
async function checkFolder(realOut: string, rel: string, shown: string): Promise<void> {
  let at = realOut;
  for (const seg of rel === '.' ? [] : rel.split('/')) {
    at = join(at, seg);
    const st = await lstatOrUndefined(at);
    if (!st) return;
    if (st.isDirectory()) continue;
    if (st.isSymbolicLink()) {
      const real = await realpath(at).catch(() => undefined);
      if (real === undefined) throw invalid(`refusing to write ${shown}: ${at} is a symbolic link to nothing: remove it`, { path: shown });
      if (!inside(realOut, real)) throw invalid(`refusing to write ${shown}: ${at} links outside the output folder (to ${real})`, { path: shown });
      if ((await lstat(real)).isDirectory()) continue;
    }
    throw new BerthError('ALREADY_EXISTS', `refusing to write ${shown}: ${at} is in the way of a folder of the version: move it elsewhere`, {
      path: shown,
    });
  }
}

/** Creates the folder of a file about to be placed, checking again that it resolves inside `realOut`. */
async function makeFolder(realOut: string, dir: string, shown: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((err) => Promise.reject(fsError(err, dir)));
  if (!inside(realOut, await realpath(dir))) throw invalid(`refusing to write ${shown}: ${dir} links outside the output folder`, { path: shown });
}

/** The partial-download folder, created when absent; anything else under that name was not made by berth and is refused. */
async function partialFolder(realOut: string): Promise<string> {
  const dir = join(realOut, PARTIAL_DIR);
  await mkdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(fsError(err, dir))));
  if (!(await lstat(dir)).isDirectory()) {
    throw new BerthError('ALREADY_EXISTS', `${dir} is not a folder (berth keeps partial downloads there): remove it and pull again`, { path: dir });
  }
  return dir;
}

/**
 * Downloads a version into `outDir`, verifying every file's sha256.
 *
 * Before anything is written, every file of the version is looked up in the folder: one with
 * the right bytes is kept (`reused_bytes`), one that differs (or a link in its place) is
 * refused unless `force`, and a symbolic link on the way to a file that leads out of the folder
 * is refused always; links are replaced, never written through. Each file then streams into
 * `.berth-partial/` and is renamed into place once its hash matches; an interrupted pull
 * resumes from the partial file with a Range request (hashing the part it already has first).
 * `ref` is a reference string or a Version already resolved (so a caller that named the folder
 * after the version gets exactly that version, even if an alias moved since).
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
  // outside outDir, or into a VCS folder or berth's own, whoever produced it.
  for (const f of files) {
    validateVersionPath(f.path);
    if (!isSha256Hex(f.sha256) || !Number.isSafeInteger(f.size) || f.size < 0)
      throw invalid(`the manifest entry for ${JSON.stringify(f.path)} is malformed`, { path: f.path });
    if (!inside(out, resolve(out, f.path)) || resolve(out, f.path) === out)
      throw invalid(`refusing to write ${JSON.stringify(f.path)} outside ${outDir}`, { path: f.path });
  }
  await mkdir(out, { recursive: true }).catch((err) => Promise.reject(fsError(err, out)));
  // Every write goes below the real path, so a link swapped in for outDir later changes nothing.
  const realOut = await realpath(out);
  const total = files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  let downloaded = 0;
  let reused = 0;
  const progress = (phase: Progress['phase'], file: string) => opts.onProgress?.({ phase, done, total, file });
  const concurrency = opts.concurrency ?? 4;

  // 1. What is already there: nothing is written until every file is known to be safe to place.
  const folders = new Map<string, Promise<void>>();
  const toFetch: ManifestFile[] = [];
  const differing: string[] = [];
  await pool(files, concurrency, async (f) => {
    const rel = dirname(f.path);
    if (!folders.has(rel)) folders.set(rel, checkFolder(realOut, rel, f.path));
    await folders.get(rel);
    const dest = join(realOut, f.path);
    const present = await lstatOrUndefined(dest);
    if (!present) return void toFetch.push(f);
    if (present.isDirectory()) {
      throw new BerthError('ALREADY_EXISTS', `refusing to write ${f.path}: ${dest} is a folder: move it elsewhere`, { path: f.path });
    }
    if (present.isFile() && present.size === f.size) {
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
    differing.push(f.path);
    toFetch.push(f);
  });
  if (differing.length > 0 && !opts.force) {
    differing.sort();
    const named = differing.slice(0, NAMED).join(', ') + (differing.length > NAMED ? ` and ${differing.length - NAMED} more` : '');
    throw new BerthError(
      'ALREADY_EXISTS',
      `${differing.length} file(s) in ${outDir} differ from ${version.model}:${version.version} (${named}): ` +
        'nothing was written; pull again with --force to replace them, or into another folder with -o',
      { paths: differing.slice(0, LISTED), count: differing.length },
    );
  }
  if (toFetch.length === 0) return { version, files, downloaded_bytes: downloaded, reused_bytes: reused };

  // 2. Download what is missing or replaced.
  const partials = await partialFolder(realOut);
  try {
    await pool(toFetch, concurrency, async (f) => {
      const dest = join(realOut, f.path);
      await makeFolder(realOut, dirname(dest), f.path);
      const partial = join(partials, partialName(f));
      const ps = await lstatOrUndefined(partial);
      let have = ps?.isFile() ? ps.size : 0;
      if (ps && (!ps.isFile() || ps.size > f.size || ps.nlink !== 1)) {
        // a link, a folder, an overlong leftover or a file also linked from elsewhere: never write through it, start over
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
        await receiveInto(Readable.from([]), partial, false, () => {});
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
      // rename replaces a link in dest's place (with force) instead of writing through it.
      await rename(partial, dest).catch((err) => Promise.reject(fsError(err, dest)));
    });
  } finally {
    // Gone once empty; kept while it holds an interrupted download to resume.
    await rmdir(partials).catch(() => {});
  }
  return { version, files, downloaded_bytes: downloaded, reused_bytes: reused };
}
