import { randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError } from '@berth/core';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** What an errno means for a folder the server must write in, in words a user can act on. */
const REASONS: Record<string, string> = {
  ENOENT: 'this file system does not take new folders there',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a file, not a folder, is in the way',
  EEXIST: 'a file, not a folder, is in the way',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

/**
 * mkdir -p that gives up instead of looping. Node's `mkdir(…, { recursive: true })` spins
 * forever where mkdir(2) answers ENOENT although the parent exists (under /proc, /sys): it
 * creates the parent (EEXIST), retries the child (ENOENT) and starts again.
 */
async function makeDir(path: string): Promise<void> {
  try {
    await mkdir(path);
    return;
  } catch (err) {
    if (errno(err) === 'EEXIST') {
      if (!(await stat(path)).isDirectory()) throw err;
      return;
    }
    if (errno(err) !== 'ENOENT' || dirname(path) === path) throw err;
  }
  await makeDir(dirname(path));
  try {
    await mkdir(path);
  } catch (err) {
    // another process created it between the two calls
    if (errno(err) !== 'EEXIST' || !(await stat(path)).isDirectory()) throw err;
  }
}

/**
 * Makes sure `path` is a folder the server can create files in, creating it when needed;
 * otherwise one INVALID_ARGUMENT naming the folder, the reason and the `setting` to change.
 * Run before the stores open, which would loop, crash or fail later with a raw error.
 */
export async function prepareFolder(path: string, what: string, setting: string): Promise<void> {
  try {
    await makeDir(path);
    const probe = join(path, `.berth-write-test-${randomBytes(6).toString('hex')}`);
    await (await open(probe, 'wx')).close();
    await unlink(probe);
  } catch (err) {
    const code = errno(err);
    const reason = (code && REASONS[code]) ?? (err as Error).message;
    throw new BerthError('INVALID_ARGUMENT', `cannot use ${path} as the ${what}: ${reason}${code ? ` (${code})` : ''}; pick another ${setting}`, {
      field: setting.replace(/^--/, ''),
      path,
    });
  }
}
