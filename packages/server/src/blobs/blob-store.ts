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
   * Removes leftovers of interrupted uploads older than `olderThanMs` (never those of a put
   * still running in this process); returns how many.
   */
  cleanTemp(olderThanMs: number): Promise<number>;
  close(): Promise<void>;
}
