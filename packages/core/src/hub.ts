import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { invalid, notFound } from './errors.js';
import { filePathProblem } from './names.js';

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

/** One operation of a Hub commit (reference/hf-hub.md §4.5), checked. `file` content stays base64 until the server decodes it. */
export type HubOperation =
  | { kind: 'file'; path: string; base64: string }
  | { kind: 'lfsFile'; path: string; oid: string; size: number | undefined }
  | { kind: 'deletedFile'; path: string }
  | { kind: 'deletedFolder'; path: string };

export interface HubCommitRequest {
  summary: string;
  description: string;
  /** The commit the client built on; undefined: it did not say. */
  parentCommit: string | undefined;
  operations: HubOperation[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** huggingface_hub checks parent_commit against this before sending it. */
const PARENT_COMMIT = /^[0-9a-fA-F]{5,40}$/;

function lineError(line: number, message: string) {
  return invalid(`commit line ${line}: ${message}; nothing was committed`, { field: 'commit', line });
}

function objectOf(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function pathOf(value: Record<string, unknown>, line: number, folder = false): string {
  const raw = value.path;
  if (typeof raw !== 'string') throw lineError(line, 'value.path must be a string');
  const path = folder ? raw.replace(/\/+$/, '') : raw;
  const problem = filePathProblem(path);
  if (problem) throw lineError(line, `invalid path ${JSON.stringify(raw)}: ${problem}`);
  return path;
}

function operationOf(key: string, value: Record<string, unknown>, line: number): HubOperation {
  switch (key) {
    case 'file': {
      const path = pathOf(value, line);
      const { content, encoding } = value;
      if (encoding !== undefined && encoding !== 'base64') throw lineError(line, `file ${path}: encoding must be base64`);
      if (typeof content !== 'string' || !BASE64.test(content)) throw lineError(line, `file ${path}: content must be standard base64 with padding`);
      return { kind: 'file', path, base64: content };
    }
    case 'lfsFile': {
      const path = pathOf(value, line);
      const { oid, size, algo } = value;
      if (algo !== undefined && algo !== 'sha256') throw lineError(line, `lfsFile ${path}: algo must be sha256`);
      if (typeof oid !== 'string' || !SHA256_HEX.test(oid)) throw lineError(line, `lfsFile ${path}: oid must be 64 lowercase hex characters (sha256)`);
      if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0))
        throw lineError(line, `lfsFile ${path}: size must be a non-negative integer`);
      return { kind: 'lfsFile', path, oid, size };
    }
    case 'deletedFile':
      return { kind: 'deletedFile', path: pathOf(value, line) };
    default:
      return { kind: 'deletedFolder', path: pathOf(value, line, true) };
  }
}

/**
 * An NDJSON commit body, parsed and checked whole before anything is done with it: a header
 * line, then operations; a path named twice or a malformed line anywhere refuses all of it.
 */
export function parseHubCommit(body: string): HubCommitRequest {
  const out: HubCommitRequest = { summary: '', description: '', parentCommit: undefined, operations: [] };
  const paths = new Set<string>();
  let header = false;
  const lines = body.split('\n');
  for (const [i, text] of lines.entries()) {
    const line = i + 1;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw lineError(line, 'not a JSON object');
    }
    const entry = objectOf(parsed);
    const value = objectOf(entry?.value);
    if (!entry || !value) throw lineError(line, 'each line is {"key": …, "value": {…}}');
    const key = entry.key;
    if (key === 'header') {
      if (header || paths.size > 0) throw lineError(line, 'the header comes once, first');
      header = true;
      const { summary, description, parentCommit } = value;
      if (summary !== undefined && typeof summary !== 'string') throw lineError(line, 'header.summary must be a string');
      if (description !== undefined && typeof description !== 'string') throw lineError(line, 'header.description must be a string');
      if (parentCommit !== undefined && parentCommit !== null && (typeof parentCommit !== 'string' || !PARENT_COMMIT.test(parentCommit)))
        throw lineError(line, 'header.parentCommit must be a commit id (5 to 40 hex characters)');
      out.summary = summary ?? '';
      out.description = description ?? '';
      out.parentCommit = typeof parentCommit === 'string' ? parentCommit.toLowerCase() : undefined;
      continue;
    }
    if (key !== 'file' && key !== 'lfsFile' && key !== 'deletedFile' && key !== 'deletedFolder')
      throw lineError(line, `unknown key ${JSON.stringify(key)}: give header, file, lfsFile, deletedFile or deletedFolder`);
    if (!header) throw lineError(line, 'the first line must be the header');
    const op = operationOf(key, value, line);
    if (paths.has(op.path)) throw lineError(line, `${op.path} is named by two operations`);
    paths.add(op.path);
    out.operations.push(op);
  }
  if (!header) throw invalid('the commit is empty: send a header line and the operations as NDJSON', { field: 'commit' });
  return out;
}

/** An operation once its bytes are known: a file put at a sha256, or a deletion. */
export type HubChange = { kind: 'put'; path: string; sha256: string; size: number } | { kind: 'deletedFile' | 'deletedFolder'; path: string };

/**
 * The files of a new commit: the head's files with the changes applied in order. A deleted
 * file or folder that is not there is NOT_FOUND (the Hub's EntryNotFound).
 */
export function applyHubChanges(files: readonly HubFile[], changes: readonly HubChange[]): HubFile[] {
  const byPath = new Map(files.map((f) => [f.path, { path: f.path, size: f.size, sha256: f.sha256 }]));
  for (const c of changes) {
    if (c.kind === 'put') {
      byPath.set(c.path, { path: c.path, size: c.size, sha256: c.sha256 });
    } else if (c.kind === 'deletedFile') {
      if (!byPath.delete(c.path)) throw notFound(`cannot delete ${JSON.stringify(c.path)}: there is no such file`, { path: c.path, missing: 'entry' });
    } else {
      const below = [...byPath.keys()].filter((p) => p.startsWith(`${c.path}/`));
      if (below.length === 0) throw notFound(`cannot delete folder ${JSON.stringify(c.path)}: there is no such folder`, { path: c.path, missing: 'entry' });
      for (const p of below) byPath.delete(p);
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}
