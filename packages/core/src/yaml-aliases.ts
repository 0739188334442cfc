import { invalid } from './errors.js';

/**
 * Runs a `toJS` that refuses YAML aliases (`maxAliasCount: 0`: a document that repeats a node by
 * `*name` can expand to any size) and turns the library's ReferenceError into a 400 naming what
 * to change; any other error is not about the input and passes through.
 */
export function noAliases<T>(toJS: () => T, what: string, field: string): T {
  try {
    return toJS();
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw invalid(`${what} repeats a node with a YAML alias (*name): aliases are not accepted, write the value out`, { field });
    }
    throw err;
  }
}
