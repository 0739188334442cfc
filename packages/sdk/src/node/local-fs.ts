import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { sep } from 'node:path';
import { BerthError, invalid } from '@berth/core';

/** Read size for local files: large reads keep the syscall count and per-chunk work low. */
export const CHUNK = 1024 * 1024;

/** Whether `p` is `root` or below it (both absolute and resolved). */
export function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Local file-system failures, translated once, here, with what to do about them. */
export function fsError(err: unknown, path: string): BerthError {
  if (err instanceof BerthError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return invalid(`${path} does not exist`, { path });
    case 'EACCES':
    case 'EPERM':
      return new BerthError('FAILED_PRECONDITION', `permission denied on ${path}: check its owner and mode`, { path, cause: e.code });
    case 'ENOSPC':
      return new BerthError('FAILED_PRECONDITION', `no space left on the device holding ${path}: free some space and run the command again`, {
        path,
        cause: e.code,
      });
    default:
      return new BerthError('INTERNAL', `cannot use ${path}: ${e?.message ?? String(err)}`, { path, cause: e?.code ?? null });
  }
}

/** Feeds a file's bytes to `h`; resolves to the number of bytes read. */
export async function hashInto(path: string, h: Hash, onBytes: (n: number) => void): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
    onBytes((chunk as Buffer).length);
  }
  return n;
}
