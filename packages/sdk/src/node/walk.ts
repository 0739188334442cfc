import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { invalid, isToolState, validateFilePath } from '@berth/core';
import { fsError, inside } from './local-fs.js';

export interface LocalFile {
  path: string;
  abs: string;
  size: number;
}

/**
 * Regular files below `root` (or `root` itself when it is a file), as relative posix paths,
 * leaving out what belongs to a tool rather than the model (`.git/`, `.hg/`, berth's own
 * `.berth*` files: `isToolState`). Symbolic links are followed while they stay inside `root`; one that leaves it, dangles or
 * loops is refused, and so is anything that is neither a file nor a folder.
 */
export async function listFiles(root: string): Promise<LocalFile[]> {
  const st = await stat(root).catch((err) => Promise.reject(fsError(err, root)));
  if (st.isFile()) return [{ path: validateFilePath(basename(root)), abs: root, size: st.size }];
  if (!st.isDirectory()) throw invalid(`${root} is neither a file nor a folder`, { path: root });
  const base = await realpath(root);
  const out: LocalFile[] = [];
  // `ancestors`: the real paths of the folders from root down to `dir`, to catch link loops
  async function walk(dir: string, realDir: string, ancestors: Set<string>): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch((err) => Promise.reject(fsError(err, dir)));
    for (const ent of entries) {
      if (isToolState(ent.name)) continue;
      const abs = join(dir, ent.name);
      let s = await lstat(abs);
      let real = join(realDir, ent.name);
      if (s.isSymbolicLink()) {
        real = await realpath(abs).catch(() =>
          Promise.reject(invalid(`${abs} is a broken symbolic link: remove it or point it at a file inside ${root}`, { path: abs })),
        );
        if (!inside(base, real)) throw invalid(`${abs} links outside ${root} (to ${real}): copy the file in instead`, { path: abs });
        s = await stat(abs);
      }
      if (s.isDirectory()) {
        if (ancestors.has(real)) throw invalid(`${abs} links to a folder that contains it: a symbolic link loop`, { path: abs });
        await walk(abs, real, new Set([...ancestors, real]));
      } else if (s.isFile()) {
        out.push({ path: validateFilePath(relative(root, abs).split(sep).join('/')), abs, size: s.size });
      } else {
        throw invalid(`${abs} is not a regular file (a socket, FIFO or device): move it out of ${root}`, { path: abs });
      }
    }
  }
  await walk(root, base, new Set([base]));
  if (out.length === 0) throw invalid(`${root} holds no files`, { path: root });
  return out;
}
