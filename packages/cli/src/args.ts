import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS: Options = {
  url: { type: 'string' },
  token: { type: 'string' },
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
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) {
    const n = Number(raw);
    // a number JSON cannot carry exactly (1e400, 12345678901234567890) stays text
    const exact = Number.isFinite(n) && (!/^-?\d+$/.test(raw) || Number.isSafeInteger(n));
    return exact ? n : raw;
  }
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

/** `90s`, `15m`, `24h`, `1.5h`, `7d`, or plain seconds → whole seconds. */
export function parseDuration(raw: string, usage: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`invalid duration ${JSON.stringify(raw)}: use e.g. 3600, 90s, 15m, 24h or 7d`, usage);
  return Math.round(Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']);
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

/** A whole number in [min, max] given to `--<flag>`; undefined when the flag is absent. */
export function parseCount(raw: unknown, flag: string, usage: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`, usage);
  return n;
}
