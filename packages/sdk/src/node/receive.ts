import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CHUNK, fsError } from './local-fs.js';

/**
 * Streams a download into the file at `path` (appending when `append`), handing each chunk to
 * `onChunk` (which hashes it) as it arrives. The 16–64 KiB socket chunks are gathered into
 * writev calls of about 1 MiB with one write in flight, so receiving and hashing the next MiB
 * overlaps writing the last one, and no chunk is copied on its way to the disk; memory stays at
 * about 2 MiB per file whatever its size. Against the Transform + 4 MiB write stream it
 * replaces, it drops a stream stage and its per-chunk callbacks (bench/transfer.ts measures it).
 *
 * A symbolic link at `path` is never followed (O_NOFOLLOW, where the platform has it): the open
 * fails instead of writing wherever the link points.
 *
 * A failure of the local file system rejects with a BerthError saying what to do; a failure of
 * `source` (the connection dropped) rejects with the source's own error, after the bytes already
 * received are written, so the next pull resumes after them.
 */
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

export async function receiveInto(source: Readable, path: string, append: boolean, onChunk: (chunk: Buffer) => void): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, WRITE_FLAGS | (append ? constants.O_APPEND : constants.O_TRUNC));
  } catch (err) {
    source.destroy();
    throw fsError(err, path);
  }
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writeError: unknown;
  // Always settled (a failure is recorded, never left unhandled while the loop awaits the socket).
  let writing: Promise<void> = Promise.resolve();
  const write = (chunks: Buffer[]) => {
    writing = writing.then(() =>
      writeError === undefined
        ? fh.writev(chunks).then(
            () => undefined,
            (err: unknown) => {
              writeError ??= err;
            },
          )
        : undefined,
    );
  };
  try {
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        onChunk(chunk);
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= CHUNK) {
          // at most one write in flight: the socket waits (TCP backpressure) while the disk catches up
          await writing;
          if (writeError !== undefined) break;
          write(batch);
          batch = [];
          batchBytes = 0;
        }
      }
    } finally {
      // what arrived before a dropped connection is kept for the next pull to resume from
      if (batch.length) write(batch);
      await writing;
    }
    if (writeError !== undefined) throw fsError(writeError, path);
  } finally {
    await fh.close().catch(() => {});
  }
}
