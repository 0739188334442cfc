import { invalid } from './errors.js';

/**
 * Name grammar (DESIGN §2): 1–128 characters of `A-Z a-z 0-9 . _ -`, not starting with `.` or
 * `-`, optionally behind one `namespace/` prefix of the same grammar (a Hub repo id).
 */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function isModelName(name: string): boolean {
  const parts = name.split('/');
  if (parts.length > 2) return false;
  return parts.every((p) => SEGMENT.test(p) && p !== '..' && !p.endsWith('.lock'));
}

export function validateModelName(name: unknown): string {
  if (typeof name !== 'string' || !isModelName(name)) {
    throw invalid(
      `invalid model name ${JSON.stringify(name)}: use 1-128 characters of A-Z a-z 0-9 . _ -, ` +
        `not starting with '.' or '-', optionally behind one 'namespace/' prefix`,
      { field: 'name', value: name },
    );
  }
  return name;
}

/**
 * Alias grammar follows MLflow's (`mlflow/utils/validation.py::_validate_model_alias_name`):
 * 1–255 of `A-Z a-z 0-9 _ -`, never `latest` in any case, never a bare number or `v<number>`
 * (those read as version references).
 */
const ALIAS = /^[A-Za-z0-9_-]{1,255}$/;

export function aliasProblem(alias: string): string | undefined {
  if (!ALIAS.test(alias)) return 'use 1-255 characters of A-Z a-z 0-9 _ -';
  if (alias.toLowerCase() === 'latest') return "'latest' is reserved: it always means the newest version";
  if (/^[0-9]+$/.test(alias)) return 'a bare number reads as a version number';
  if (/^v[0-9]+$/i.test(alias)) return "'v<number>' reads as a version reference";
  return undefined;
}

export function validateAliasName(alias: unknown): string {
  if (typeof alias !== 'string') throw invalid('alias must be a string', { field: 'alias' });
  const problem = aliasProblem(alias);
  if (problem) throw invalid(`invalid alias ${JSON.stringify(alias)}: ${problem}`, { field: 'alias', value: alias });
  return alias;
}

/** Kinds of model (DESIGN §2). */
export const MODEL_KINDS = ['model', 'adapter', 'prompt', 'rag-config', 'bundle', 'dataset'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export function validateKind(kind: unknown): ModelKind {
  if (typeof kind !== 'string' || !(MODEL_KINDS as readonly string[]).includes(kind)) {
    throw invalid(`invalid kind ${JSON.stringify(kind)}: use one of ${MODEL_KINDS.join(', ')}`, { field: 'kind' });
  }
  return kind as ModelKind;
}

const MAX_PATH_BYTES = 1024;

/**
 * A file path inside a manifest or MLflow's artifact store: relative, `/`-separated, no `..` or `.` or empty segment, no
 * backslash, no NUL or other control character, at most 1,024 UTF-8 bytes.
 */
export function filePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'the path is empty';
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) return `the path is over ${MAX_PATH_BYTES} bytes`;
  if (path.includes('\0')) return 'the path contains a NUL byte';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point of this check
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'the path contains a control character';
  if (path.includes('\\')) return "the path contains a backslash: use '/' between folders";
  if (path.startsWith('/')) return 'the path is absolute: give it relative to the artifact root';
  if (/^[A-Za-z]:/.test(path)) return 'the path starts with a drive letter';
  for (const seg of path.split('/')) {
    if (seg === '') return 'the path has an empty segment (// or a trailing /)';
    if (seg === '..') return "the path contains '..'";
    if (seg === '.') return "the path contains a '.' segment";
  }
  return undefined;
}

function checkedPath(path: unknown, problemOf: (path: string) => string | undefined): string {
  if (typeof path !== 'string') throw invalid('file path must be a string', { field: 'path' });
  const problem = problemOf(path);
  if (problem) throw invalid(`invalid file path ${JSON.stringify(path)}: ${problem}`, { field: 'path', value: path });
  return path;
}

export function validateFilePath(path: unknown): string {
  return checkedPath(path, filePathProblem);
}

/**
 * Folders where a version control system keeps its own state, and which it reads whenever it
 * runs in the folder above: a version that writes `.git/config` (hooks, `core.fsmonitor`) or
 * `.hg/hgrc` (hooks) into a work tree makes the next `git status` or `hg status` run its code.
 * `git~1` is the 8.3 short name Windows gives `.git`.
 */
const VCS_FOLDERS = new Set(['.git', 'git~1', '.hg', '.svn', '.bzr']);

/** A segment as a case-insensitive file system that drops trailing dots and spaces sees it. */
const seenAs = (seg: string) => seg.toLowerCase().replace(/[. ]+$/, '');

/**
 * Whether a folder or file name belongs to a tool rather than to the model: a version control
 * folder or one of berth's own `.berth*` files. `berth push` leaves these out of a version
 * (a checkpoint folder is often a git clone), where the server would refuse them.
 */
export function isToolState(name: string): boolean {
  const seen = seenAs(name);
  return VCS_FOLDERS.has(seen) || seen.startsWith('.berth');
}

/**
 * Why a segment may not be part of a version's file path, beyond the grammar of
 * {@link filePathProblem}. Compared as a case-insensitive file system with Windows' dropping of
 * trailing dots and spaces would see it, so `.GIT` and `.git.` are `.git`.
 */
function reservedSegmentProblem(seg: string): string | undefined {
  const seen = seenAs(seg);
  if (VCS_FOLDERS.has(seen)) return `'${seg}' is a version control folder: pulled into a work tree it would replace that tool's own state`;
  if (seen.startsWith('.berth')) return `'${seg}' starts with '.berth', which is reserved for the files berth pull keeps while downloading`;
  if (seg.startsWith('-')) return `'${seg}' starts with '-', which commands run over the folder ('rm *', 'tar *') would read as an option`;
  return undefined;
}

/**
 * A path a version's file may have: the grammar of {@link filePathProblem}, and no segment that
 * a version control system or a shell treats specially, or that the pulling client uses itself
 * (docs/api.md "File paths"). Every front that creates a version checks it through
 * `normalizeManifest`; `berth pull` checks it again before writing.
 */
export function versionPathProblem(path: string): string | undefined {
  const problem = filePathProblem(path);
  if (problem) return problem;
  for (const seg of path.split('/')) {
    const reserved = reservedSegmentProblem(seg);
    if (reserved) return reserved;
  }
  return undefined;
}

export function validateVersionPath(path: unknown): string {
  return checkedPath(path, versionPathProblem);
}

/** Tag keys: 1–250 printable characters without control characters; values up to 5,000. */
export function validateTag(key: unknown, value: unknown): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point of this check
  if (typeof key !== 'string' || key.length === 0 || key.length > 250 || /[\u0000-\u001f]/.test(key)) {
    throw invalid(`invalid tag key ${JSON.stringify(key)}: use 1-250 printable characters`, { field: 'tags' });
  }
  if (typeof value !== 'string' || value.length > 5000) {
    throw invalid(`invalid value for tag ${JSON.stringify(key)}: a string of at most 5000 characters`, { field: 'tags' });
  }
}

export function validateTags(tags: Record<string, unknown>): Record<string, string> {
  for (const [k, v] of Object.entries(tags)) validateTag(k, v);
  return tags as Record<string, string>;
}
