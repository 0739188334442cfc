import { canonicalJson } from './canonical-json.js';
import { parseSha256, sha256Hex } from './digest.js';
import { invalid } from './errors.js';
import { validateVersionPath } from './names.js';
import type { ManifestFile } from './schemas.js';

export const MAX_MANIFEST_FILES = 100_000;

/**
 * Validates a list of files and returns it sorted by path (byte order of the UTF-16 code
 * units, which is what `Array.prototype.sort` gives and what every client can reproduce).
 */
export function normalizeManifest(files: unknown): ManifestFile[] {
  if (!Array.isArray(files)) throw invalid('files must be a list of {path, size, sha256}', { field: 'files' });
  if (files.length > MAX_MANIFEST_FILES) throw invalid(`a version may hold at most ${MAX_MANIFEST_FILES} files`, { field: 'files' });
  const seen = new Set<string>();
  const out: ManifestFile[] = [];
  for (const f of files as unknown[]) {
    if (f === null || typeof f !== 'object') throw invalid('each file must be an object {path, size, sha256}', { field: 'files' });
    const { path, size, sha256 } = f as Record<string, unknown>;
    validateVersionPath(path);
    const p = path as string;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw invalid(`file ${JSON.stringify(p)}: size must be a non-negative integer`, { field: 'size', path: p });
    }
    const hex = parseSha256(sha256, `sha256 of ${p}`);
    if (seen.has(p)) throw invalid(`file ${JSON.stringify(p)} is listed twice`, { field: 'files', path: p });
    seen.add(p);
    out.push({ path: p, size, sha256: hex });
  }
  // A path cannot be both a file and a folder (`a` and `a/b`): no file system can hold both.
  for (const p of seen) {
    let i = p.indexOf('/');
    while (i !== -1) {
      const dir = p.slice(0, i);
      if (seen.has(dir)) throw invalid(`file ${JSON.stringify(dir)} is also a folder of ${JSON.stringify(p)}`, { field: 'files', path: dir });
      i = p.indexOf('/', i + 1);
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The canonical serialization a manifest digest is computed over. */
export function canonicalManifest(files: readonly ManifestFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return canonicalJson({ files: sorted.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })), schema: 'berth.manifest.v1' });
}

/** `sha256:` over the canonical manifest: the same files give the same digest. */
export function manifestDigest(files: readonly ManifestFile[]): string {
  return `sha256:${sha256Hex(canonicalManifest(files))}`;
}

export function manifestSize(files: readonly ManifestFile[]): number {
  return files.reduce((n, f) => n + f.size, 0);
}
