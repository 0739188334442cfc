import { userInfo } from 'node:os';
import { BerthClient, DEFAULT_URL } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import type { Io } from './io.js';

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

export function makeContext(io: Io, values: { url?: unknown; json?: unknown }): Context {
  let client: BerthClient | undefined;
  return {
    io,
    json: values.json === true,
    client() {
      const url = typeof values.url === 'string' ? values.url : (io.env.BERTH_URL ?? DEFAULT_URL);
      return (client ??= new BerthClient({ url, actor: actorName(io.env), fetch: nodeFetch }));
    },
    print(text: string) {
      io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    printJson(value: unknown) {
      io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}
