import { BerthError, invalid } from './errors.js';

/**
 * Sources whose bytes live in a store Berth does not read (decision 0021): MLflow records any
 * URI as a version's source, and these are the object stores and file systems its clients
 * register from. Berth has no reader configured for them, so such a source becomes an external
 * version: the URI recorded, no files, and no digest that names content.
 */
export const EXTERNAL_SOURCE_SCHEMES = ['s3', 'gs', 'wasbs', 'hdfs', 'dbfs', 'http', 'https'] as const;

/** Longest external URI kept: the same bound as any version's source. */
export const MAX_EXTERNAL_URI = 4096;

/**
 * The tag MLflow's responses carry on an external version, so a client that only reads tags
 * still sees that its bytes are not pinned. The server sets it; nobody else may.
 */
export const CONTENT_ADDRESSED_TAG = 'berth.content_addressed';

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/** Whether `source` names a location in one of the external stores (by its scheme). */
export function isExternalSource(source: string): boolean {
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  return (EXTERNAL_SOURCE_SCHEMES as readonly string[]).includes(scheme ?? '');
}

/**
 * Checks an external version's URI: one of the external schemes with a location after it, no
 * whitespace or control characters, and no credentials in an http(s) URI (a registry record is read by every
 * viewer of the model; a secret in it would leak).
 */
export function checkExternalUri(uri: unknown): string {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > MAX_EXTERNAL_URI) {
    throw invalid(`external_uri must be a URI of at most ${MAX_EXTERNAL_URI} characters`, { field: 'external_uri' });
  }
  if (!isExternalSource(uri)) {
    throw invalid(`external_uri ${JSON.stringify(uri)} is not in an external store: use one of ${EXTERNAL_SOURCE_SCHEMES.map((s) => `${s}:`).join(', ')}`, {
      field: 'external_uri',
    });
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) throw invalid('external_uri must not contain whitespace or control characters', { field: 'external_uri' });
  const rest = uri.slice(uri.indexOf(':') + 1).replace(/^\/+/, '');
  if (rest === '') throw invalid(`external_uri ${JSON.stringify(uri)} names no location after its scheme`, { field: 'external_uri' });
  // wasbs:// names `container@account` in its authority; only http(s) puts user:password there.
  const authority = /^https?:\/\/([^/?#]*)/i.exec(uri)?.[1] ?? '';
  if (authority.includes('@')) {
    throw invalid('external_uri must not carry credentials (user@ or user:password@): give the store access to the readers instead', {
      field: 'external_uri',
    });
  }
  return uri;
}

/**
 * The refusal for anything that needs a version's bytes pinned by digest (a bundle or adapter
 * pinning it, a promotion under gates): an external version has none. It says where the bytes
 * are and how to make a version that has them.
 */
export function notContentAddressed(ref: string, uri: string, what: string): BerthError {
  return new BerthError(
    'FAILED_PRECONDITION',
    `${ref} is an external version (its files stay at ${uri}; Berth holds none of their bytes), so ${what}: push the files with \`berth push <dir> --model ${ref.slice(0, ref.lastIndexOf(':'))}\` to make a content-addressed version`,
    { version: ref, external_uri: uri, content_addressed: false },
  );
}
