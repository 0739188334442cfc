/** What a push or a pull reports as it goes, for a progress bar. */
export interface Progress {
  /** hash: hashing local files; upload; verify: hashing what is already on disk; download. */
  phase: 'hash' | 'upload' | 'verify' | 'download';
  done: number;
  total: number;
  file?: string;
}
