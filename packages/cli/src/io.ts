export interface Out {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: Out;
  stderr: Out;
  env: Record<string, string | undefined>;
  cwd: string;
  /** How to reach the server; the node:http transport of @berth/sdk/node unless a test passes a stub. */
  fetch?: typeof fetch;
  /** Ends a command that follows (`events --follow`) as Ctrl-C would. */
  signal?: AbortSignal;
}

/** A mistake in how a command was called: exit 2 with the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}
