import { invalid } from './errors.js';

/**
 * Limits on the free JSON a request may carry, in one place (docs/api.md "Limits"). Names,
 * aliases, tags and file paths have their own grammars in names.ts.
 */

/** Levels of objects and arrays any JSON body may nest, itself included. */
export const MAX_JSON_DEPTH = 32;
/** A version's metadata, as JSON text. */
export const MAX_METADATA_BYTES = 1024 * 1024;
/** A model's or version's description. */
export const MAX_DESCRIPTION_CHARS = 64 * 1024;

const isContainer = (v: unknown): v is object => {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * Whether `value` nests more than `max` levels of arrays and plain objects. Walked with a
 * stack of its own, so no depth of input can overflow the call stack; anything recursive
 * (canonical JSON, the audit hash, serialisers) runs only on values that passed this.
 */
export function nestsDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (!isContainer(value)) return false;
  const stack: [object, number][] = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, depth] = top;
    if (depth > max) return true;
    for (const child of Object.values(v)) if (isContainer(child)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Refuses, naming the limit, a value that nests deeper than MAX_JSON_DEPTH. */
export function checkJsonDepth(value: unknown, what: string, field?: string): void {
  if (nestsDeeperThan(value)) {
    throw invalid(`${what} nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays, the limit for any JSON value`, {
      ...(field ? { field } : {}),
      limit: MAX_JSON_DEPTH,
    });
  }
}
