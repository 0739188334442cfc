import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS: Options = {
  url: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: Options, usage: string): Parsed {
  try {
    const r = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), usage);
  }
}

/** `val_loss=0.342` → 0.342, `flag=true` → true, `name=x` → "x", `obj={"a":1}` → object. */
export function parseValue(raw: string): unknown {
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if ((raw.startsWith('{') && raw.endsWith('}')) || (raw.startsWith('[') && raw.endsWith(']'))) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

export function parsePairs(list: string[] | undefined, flag: string, usage: string, typed: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} takes key=value, not ${JSON.stringify(item)}`, usage);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    out[key] = typed ? parseValue(value) : value;
  }
  return out;
}

/** `90s`, `15m`, `24h`, `7d`, or plain seconds → seconds. */
export function parseDuration(raw: string, usage: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`invalid duration ${JSON.stringify(raw)}: use e.g. 3600, 90s, 15m, 24h or 7d`, usage);
  const n = Number(m[1]);
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

export function parseVersionNumber(raw: string | undefined, what: string, usage: string): number {
  if (raw === undefined || !/^[1-9]\d{0,9}$/.test(raw)) throw new UsageError(`${what} must be a version number, not ${JSON.stringify(raw ?? '')}`, usage);
  return Number(raw);
}

/** `--expect 3` → 3, `--expect none` → null (believed unset). */
export function parseExpect(raw: string | undefined, usage: string): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'none' || raw === 'unset') return null;
  return parseVersionNumber(raw, '--expect', usage);
}

/** `name:3` → {name, version}; anything else is a usage error naming `what`. */
export function parseNameVersion(raw: string | undefined, usage: string): { name: string; version?: number } {
  if (!raw) throw new UsageError('give a model name or name:version', usage);
  const i = raw.lastIndexOf(':');
  if (i > 0 && /^\d+$/.test(raw.slice(i + 1))) return { name: raw.slice(0, i), version: parseVersionNumber(raw.slice(i + 1), 'version', usage) };
  return { name: raw };
}
