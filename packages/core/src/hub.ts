import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * The Hugging Face Hub's view of a version (docs/decisions/0020). A Hub commit id is 40
 * lowercase hex characters (the clients treat that shape as immutable); Berth's is the first
 * 40 hex of the version's manifest digest, so it is stable and maps back with one indexed
 * prefix lookup. Berth keeps no git objects: every file is presented as an LFS object, whose
 * git oid (of the pointer text) follows from its sha256 and size without reading the bytes.
 */
const COMMIT_ID = /^[0-9a-f]{40}$/;

export function isCommitId(value: string): boolean {
  return COMMIT_ID.test(value);
}

/** `sha256:<64 hex>` → its first 40 hex. */
export function commitIdOf(digest: string): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 40);
}

/** The git-lfs pointer text of a file (git-lfs spec v1), what a Hub repo's git tree holds for it. */
export function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

/** git's blob id: sha1 of `blob <length>\0<bytes>`. */
export function gitBlobOid(text: string): string {
  const body = utf8ToBytes(text);
  const head = utf8ToBytes(`blob ${body.length}\0`);
  const all = new Uint8Array(head.length + body.length);
  all.set(head);
  all.set(body, head.length);
  return bytesToHex(sha1(all));
}

export interface HubFile {
  path: string;
  size: number;
  sha256: string;
}

export type HubTreeEntry =
  | { type: 'file'; oid: string; size: number; path: string; lfs: { oid: string; size: number; pointerSize: number } }
  | { type: 'directory'; oid: string; size: 0; path: string };

export function hubFileEntry(f: HubFile): HubTreeEntry {
  const pointer = lfsPointer(f.sha256, f.size);
  return { type: 'file', oid: gitBlobOid(pointer), size: f.size, path: f.path, lfs: { oid: f.sha256, size: f.size, pointerSize: utf8ToBytes(pointer).length } };
}

/** A folder's oid: stable for the same files under it, different when any of them differs. */
function directoryEntry(path: string, files: readonly HubFile[]): HubTreeEntry {
  const prefix = `${path}/`;
  const listing = files
    .filter((f) => f.path.startsWith(prefix))
    .map((f) => `${f.path.slice(prefix.length)}\0${f.sha256}\n`)
    .join('');
  return { type: 'directory', oid: bytesToHex(sha1(utf8ToBytes(listing))), size: 0, path };
}

/** Every folder that holds a file, `a/b/c.txt` → `a`, `a/b`. */
function foldersOf(files: readonly HubFile[]): Set<string> {
  const folders = new Set<string>();
  for (const f of files) {
    for (let i = f.path.indexOf('/'); i >= 0; i = f.path.indexOf('/', i + 1)) folders.add(f.path.slice(0, i));
  }
  return folders;
}

/**
 * The Hub's tree listing (`GET /api/models/{repo}/tree/{rev}/{folder}`): the entries under
 * `folder` ('' for the root), immediate children or, with `recursive`, everything below,
 * folders included, sorted by path. undefined: no such folder.
 */
export function hubTree(files: readonly HubFile[], folder: string, recursive: boolean): HubTreeEntry[] | undefined {
  const folders = foldersOf(files);
  if (folder !== '' && !folders.has(folder)) return undefined;
  const prefix = folder === '' ? '' : `${folder}/`;
  const below = (p: string) => p.startsWith(prefix) && (recursive || !p.slice(prefix.length).includes('/'));
  const entries = [...[...folders].filter(below).map((d) => directoryEntry(d, files)), ...files.filter((f) => below(f.path)).map(hubFileEntry)];
  return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The Hub's paths-info: one entry per path that names a file or a folder, in the order asked; unknown paths are left out. */
export function hubPathsInfo(files: readonly HubFile[], paths: readonly string[]): HubTreeEntry[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const folders = foldersOf(files);
  const out: HubTreeEntry[] = [];
  for (const p of new Set(paths.map((x) => x.replace(/\/+$/, '')))) {
    const f = byPath.get(p);
    if (f) out.push(hubFileEntry(f));
    else if (folders.has(p)) out.push(directoryEntry(p, files));
  }
  return out;
}
