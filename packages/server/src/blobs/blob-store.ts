import type { Readable } from 'node:stream';

export interface BlobInfo {
  sha256: string;
  size: number;
  mtimeMs: number;
}

export interface PutResult {
  sha256: string;
  size: number;
  created: boolean;
}

export interface PutOptions {
  /** The size the client declared (e.g. Content-Length); a body of any other length is refused. */
  expectedSize?: number;
  /** The largest blob accepted; a longer body is refused with PAYLOAD_TOO_LARGE. */
  maxBytes?: number;
  /**
   * Makes the put resumable (decision 0011): an upload session id (letters, digits, `-`, at
   * most 64). A body cut off midway leaves the bytes received as the partial upload of
   * (`upload`, sha256) instead of nothing; a refused body (wrong hash, too long) still leaves
   * nothing. Only for `put`, whose sha256 is known up front.
   */
  upload?: string;
  /**
   * With `upload`: the body continues the partial upload from this byte, which must be exactly
   * the bytes held (else FAILED_PRECONDITION naming them, and the partial is kept). `expectedSize`
   * is then the size of the whole blob, not of the body.
   */
  offset?: number;
  /**
   * Sees every byte of the blob once, in order, as it is hashed (a resumed put shows the bytes
   * already held first): how uploads are inspected without a second read (decision 0016).
   * Whatever it sees counts only once the put succeeds.
   */
  observe?: (chunk: Uint8Array) => void;
}

/** What `cleanTemp` found (and, unless a dry run, removed). */
export interface TempCleanup {
  files: number;
  bytes: number;
}

export interface TempCleanupOptions {
  /** Count what would go, remove nothing. */
  dryRun?: boolean;
  /**
   * Whether the partial uploads of this upload session are still wanted (the session is open).
   * Without it partial uploads are left alone: only the collector, which can ask, removes them.
   */
  keepUpload?: (upload: string) => Promise<boolean>;
}

/** Byte offsets, both inclusive like HTTP `Range: bytes=start-end`; `end` defaults to the last byte. */
export interface BlobRange {
  start: number;
  end?: number;
}

export interface OpenedBlob {
  stream: Readable;
  /** Size of the whole blob. */
  size: number;
  start: number;
  /** Inclusive; `start - 1` for an empty blob. */
  end: number;
}

/**
 * Content-addressed blob storage: the key is the sha256 of the bytes (64 lowercase hex; any
 * other key is refused with INVALID_ARGUMENT, which also keeps keys out of path tricks).
 * A local folder today; the interface leaves room for an S3 bucket (multipart put, ranged get,
 * list, delete), so nothing here assumes a file system. `packages/server/test-support/blob-store-contract.ts` is the suite
 * every implementation must pass.
 */
export interface BlobStore {
  /** Size and last write/touch time of a stored blob, or undefined. */
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /**
   * Streams `body` in while hashing it; the blob becomes visible only once its bytes are
   * durable and hash to `sha256` (and count `expectedSize` when given). INVALID_ARGUMENT on a
   * hash or size mismatch (the message names expected and actual), PAYLOAD_TOO_LARGE past
   * `maxBytes`; nothing is kept on any failure, the body's own error included. A blob that
   * already exists is still read and verified, then touched, and `created` is false. Puts of
   * the same blob may run concurrently.
   *
   * A refusal decided before reading (bad key, declared size over `maxBytes`) leaves `body`
   * unread, so an HTTP front can still answer on the same connection; a failure while reading
   * destroys a stream body.
   */
  put(sha256: string, body: AsyncIterable<Uint8Array> | Readable, opts?: PutOptions): Promise<PutResult>;
  /**
   * Like put, for bytes whose hash is not known up front (MLflow artifacts): stored under the
   * sha256 found, with the same size checks and the same guarantees.
   */
  putUnknown(body: AsyncIterable<Uint8Array> | Readable, opts?: PutOptions): Promise<PutResult>;
  /**
   * The bytes, optionally one inclusive range. NOT_FOUND when absent, INVALID_ARGUMENT for a
   * range outside the blob (callers clamp HTTP ranges first). The stream keeps reading the
   * bytes it opened even if the blob is deleted meanwhile.
   */
  open(sha256: string, range?: BlobRange): Promise<OpenedBlob>;
  /** Marks a blob as used now, so the collector's grace period protects it again. No-op when absent. */
  touch(sha256: string): Promise<void>;
  /** Every stored blob, streamed, in no promised order. */
  list(): AsyncIterable<BlobInfo>;
  /** True when a blob was removed, false when there was none. */
  delete(sha256: string): Promise<boolean>;
  /**
   * Bytes held by the partial upload of (`upload`, `sha256`): 0 when there is none. Waits for
   * a put of that pair still running in this process, so the answer is what a resume must send
   * from.
   */
  partialSize(upload: string, sha256: string): Promise<number>;
  /**
   * Moves to `upload` the largest partial upload of each blob that other sessions left (a
   * client that re-runs opens a new session), when it holds more than `upload`'s own; returns
   * the bytes now held per blob, for those with any.
   */
  claimPartials(upload: string, sha256s: readonly string[]): Promise<Map<string, number>>;
  /**
   * Removes leftovers of interrupted uploads older than `olderThanMs` (never those of a put
   * still running in this process, nor partial uploads `keepUpload` wants); returns how many
   * files and bytes were (or, in a dry run, would be) removed.
   */
  cleanTemp(olderThanMs: number, opts?: TempCleanupOptions): Promise<TempCleanup>;
  close(): Promise<void>;
}
