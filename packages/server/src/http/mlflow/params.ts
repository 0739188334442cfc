import { invalid } from '@berth/core';

/**
 * MLflow requests carry their arguments in the query string (GET) or a JSON body (POST,
 * PATCH and also DELETE). These read them the way MLflow's server does.
 */
export type Args = Record<string, unknown>;

export function str(args: Args, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v === '') throw invalid(`Missing value for required parameter '${key}'.`, { field: key });
  return v;
}

export function optStr(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}' supplied: it must be a string.`, { field: key });
  return v;
}

/** Versions are proto strings compared as integers (`"01"` is 1). A JSON number is refused, as MLflow does. */
export function versionArg(args: Args, key = 'version'): number {
  const v = str(args, key);
  if (!/^\d{1,10}$/.test(v) || Number(v) < 1) throw invalid(`Parameter '${key}' must be a positive integer version, not ${JSON.stringify(v)}.`, { field: key });
  return Number(v);
}

export function bool(args: Args, key: string): boolean {
  const v = args[key];
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false' || v === undefined) return false;
  throw invalid(`Parameter '${key}' must be true or false.`, { field: key });
}

/** `[{key, value}]` → record. */
export function tagList(args: Args, key = 'tags'): Record<string, string> {
  const v = args[key];
  if (v === undefined || v === null) return {};
  if (!Array.isArray(v)) throw invalid(`Parameter '${key}' must be a list of {key, value}.`, { field: key });
  const out: Record<string, string> = {};
  for (const t of v) {
    const k = (t as { key?: unknown })?.key;
    const val = (t as { value?: unknown })?.value ?? '';
    if (typeof k !== 'string' || k === '' || typeof val !== 'string') throw invalid(`Each tag in '${key}' needs a string key and value.`, { field: key });
    out[k] = val;
  }
  return out;
}

/** Repeated query keys (`stages=a&stages=b`) or a JSON list. */
export function list(args: Args, key: string): string[] {
  const v = args[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}
