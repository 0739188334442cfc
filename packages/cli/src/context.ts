import { userInfo } from 'node:os';
import { BerthClient, DEFAULT_URL } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import { UsageError, type Io } from './io.js';

export interface Context {
  io: Io;
  json: boolean;
  client(): BerthClient;
  print(text: string): void;
  printJson(value: unknown): void;
}

function actorName(env: Io['env']): string | undefined {
  const fromEnv = env.USER ?? env.LOGNAME;
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** --url, else BERTH_URL, else the default; refuses anything but an http(s) URL. */
export function serverUrl(flag: unknown, env: Io['env']): string {
  const url = typeof flag === 'string' ? flag : env.BERTH_URL || DEFAULT_URL;
  const from = typeof flag === 'string' ? '--url' : env.BERTH_URL ? 'BERTH_URL' : 'the default URL';
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new UsageError(`${from} ${JSON.stringify(url)} is not an http(s) URL: use e.g. http://127.0.0.1:7878`);
  }
  return url;
}

/** --token, else BERTH_TOKEN; none: the server takes the caller as its local user (loopback only). */
function tokenOf(flag: unknown, env: Io['env']): string | undefined {
  if (typeof flag === 'string') return flag;
  return env.BERTH_TOKEN || undefined;
}

export function makeContext(io: Io, values: { url?: unknown; json?: unknown; token?: unknown }): Context {
  let client: BerthClient | undefined;
  return {
    io,
    json: values.json === true,
    client() {
      const token = tokenOf(values.token, io.env);
      client ??= new BerthClient({ url: serverUrl(values.url, io.env), actor: actorName(io.env), ...(token ? { token } : {}), fetch: io.fetch ?? nodeFetch });
      return client;
    },
    print(text: string) {
      io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    printJson(value: unknown) {
      io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}
