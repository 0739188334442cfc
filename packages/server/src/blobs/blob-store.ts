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

/**
 * Content-addressed blob storage: the key is the sha256 of the bytes (64 lowercase hex).
 * A local folder today; the interface leaves room for an S3 bucket (multipart put, ranged get,
 * list, delete), so nothing here assumes a file system.
 */
export interface BlobStore {
  /** Size and last write/touch time of a stored blob, or undefined. */
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /**
   * Streams `body` in while hashing it; the blob becomes visible only if the bytes hash to
   * `sha256` (and count `expectedSize` when given). INVALID_ARGUMENT on a mismatch,
   * PAYLOAD_TOO_LARGE past `maxBytes`; nothing is kept on any failure.
   */
  put(sha256: string, body: AsyncIterable<Uint8Array> | Readable, opts?: { expectedSize?: number; maxBytes?: number }): Promise<PutResult>;
  /** Like put, for bytes whose hash is not known up front: stored under the sha256 found. */
  putUnknown(body: AsyncIterable<Uint8Array> | Readable, opts?: { expectedSize?: number; maxBytes?: number }): Promise<PutResult>;
  /** The bytes, optionally one inclusive range. NOT_FOUND when absent. */
  open(sha256: string, range?: { start: number; end?: number }): Promise<{ stream: Readable; size: number; start: number; end: number }>;
  /** Marks a blob as used now, so the collector's grace period protects it again. */
  touch(sha256: string): Promise<void>;
  /** Every stored blob, streamed. */
  list(): AsyncIterable<BlobInfo>;
  delete(sha256: string): Promise<boolean>;
  /** Removes leftovers of interrupted uploads older than `olderThanMs`; returns how many. */
  cleanTemp(olderThanMs: number): Promise<number>;
  close(): Promise<void>;
}
