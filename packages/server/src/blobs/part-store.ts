import type { Readable } from 'node:stream';

export interface StagedPart {
  partNumber: number;
  sha256: string;
  size: number;
}

/** A staged part opened for reading: it keeps its bytes even if the part is replaced or its session removed. */
export interface OpenedPart {
  partNumber: number;
  size: number;
  /** The part's bytes from the start; read once. */
  read(): Readable;
  /** Releases the part; safe to call after `read()` finished or failed. */
  close(): Promise<void>;
}

/** What `openParts` found: every wanted part opened, or the first one absent or different. */
export type OpenPartsResult = { ok: true; parts: OpenedPart[] } | { ok: false; partNumber: number; actual?: string };

/**
 * Where the parts of multipart uploads wait to be assembled, by session. A session holds the
 * caller's description (any JSON) and at most one part per number, named by the sha256 of its
 * bytes; a part sent again replaces the earlier one. What a session means, and who may touch
 * it, is the caller's business.
 */
export interface PartStore {
  /** Creates session `id` with its description; a clash of ids fails. */
  create(id: string, meta: unknown): Promise<void>;
  /** The description given at `create`, or undefined when there is no such session. */
  meta(id: string): Promise<unknown>;
  /**
   * Streams one part in, hashing it; NOT_FOUND when the session is gone, INVALID_ARGUMENT when
   * the body is not `expectedSize` bytes, PAYLOAD_TOO_LARGE past `maxBytes`. Nothing of a failed
   * part is kept.
   */
  writePart(id: string, partNumber: number, body: Readable, opts: { expectedSize?: number; maxBytes: number }): Promise<StagedPart>;
  /** Opens the wanted parts, in the order given, when each is there with that sha256. The caller closes them. */
  openParts(id: string, wanted: { partNumber: number; sha256: string }[]): Promise<OpenPartsResult>;
  /** Deletes a session and its parts; false when there was none. */
  remove(id: string): Promise<boolean>;
  /** Removes sessions untouched for `olderThanMs`, except those with a part being written; returns how many. */
  sweep(olderThanMs: number): Promise<number>;
}
