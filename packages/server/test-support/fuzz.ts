import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';

/**
 * Shared parts of the property-based fuzzers (http/**\/*fuzz*.test.ts): the run settings, the
 * hostile values they send, and the checks every answer must pass.
 */

/** A fixed seed, so a failure reproduces; BERTH_FUZZ_SEED picks another, BERTH_FUZZ_RUNS runs more. */
export function fuzzSettings(defaultRuns: number): { seed: number; numRuns: number } {
  const runs = Number(process.env.BERTH_FUZZ_RUNS ?? defaultRuns);
  const seed = Number(process.env.BERTH_FUZZ_SEED ?? 20261130);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BERTH_FUZZ_RUNS must be a positive integer, not ${process.env.BERTH_FUZZ_RUNS}`);
  if (!Number.isInteger(seed)) throw new Error(`BERTH_FUZZ_SEED must be an integer, not ${process.env.BERTH_FUZZ_SEED}`);
  return { seed, numRuns: runs };
}

/**
 * A value nested `depth` deep. It stays a marker until `toJson` writes it out as text: building
 * or printing thousands of levels with recursive code would overflow this process's stack, not the server's.
 */
export class Nested {
  constructor(
    readonly depth: number,
    readonly asArray: boolean,
  ) {}
  [fc.toStringMethod](): string {
    return `${this.asArray ? 'array' : 'object'} nested ${this.depth} deep`;
  }
  text(): string {
    return this.asArray ? `${'['.repeat(this.depth)}"leaf"${']'.repeat(this.depth)}` : `${'{"k":'.repeat(this.depth)}"leaf"${'}'.repeat(this.depth)}`;
  }
}

/** JSON.stringify that writes `Nested` markers as their deep text. */
export function toJson(v: unknown): string {
  const deep: Nested[] = [];
  const text = JSON.stringify(v, (_k, x: unknown) => (x instanceof Nested ? `\u0000nested:${deep.push(x) - 1}\u0000` : x)) ?? 'null';
  return text.replace(/"\\u0000nested:(\d+)\\u0000"/g, (_m, i: string) => deep[Number(i)]?.text() ?? 'null');
}

const hugeString = fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n));
const numberLike = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('1', '01', '0', '-1', '1e309', 'NaN', 'Infinity', '0x10', ' 7 ', '1.5', '9007199254740993', '99999999999999999999'),
);
const oddStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '..',
  '../../etc/passwd',
  '%00',
  '%zz',
  'a/b',
  '\\',
  '🦄',
  '\u202e',
  '\ud800',
  'null',
  'true',
  '[]',
  '{}',
);

/** One argument value: right-ish, wrong-typed, huge, deep, unicode, numbers as strings. */
export function hostileValue(known: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...known), weight: 4 },
    { arbitrary: numberLike, weight: 2 },
    { arbitrary: oddStrings, weight: 2 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
    { arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)), weight: 2 },
    { arbitrary: hugeString, weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 2 },
    {
      arbitrary: fc.array(fc.record({ key: fc.oneof(fc.constantFrom(...known), fc.jsonValue({ maxDepth: 1 })), value: fc.jsonValue({ maxDepth: 1 }) })),
      weight: 2,
    },
    { arbitrary: fc.tuple(fc.integer({ min: 100, max: 5000 }), fc.boolean()).map(([d, a]) => new Nested(d, a)), weight: 1 },
  );
}

/** Arguments for a route: some of its own names (and an unknown one) with hostile values. */
export function hostileArgs(names: readonly string[], known: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const keys = [...names, 'unknown_field'];
  return fc.dictionary(fc.constantFrom(...keys), hostileValue(known), { maxKeys: keys.length });
}

/** A request body that is not the JSON it claims to be. */
export const brokenBody = fc.oneof(
  fc.constantFrom('{', '{"name":', '{"name": "m"', '[', 'null', '"', '"{\\"name\\": 1}"', '\u0000', '{"a":1}{"b":2}', '   '),
  fc.string({ maxLength: 60 }),
);

/** Sends `req` and fails when no answer comes within `ms` (a hang). */
export async function injectWithin(app: FastifyInstance, req: InjectOptions, ms = 10_000): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms to ${req.method} ${String(req.url).slice(0, 200)}`)), ms);
  });
  try {
    return await Promise.race([app.inject(req), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Shortens what a failure message quotes: a fuzzer's bodies can be megabytes. */
export function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 600 ? `${s.slice(0, 600)}… (${s.length} chars)` : s;
}

function parsed(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Why an answer breaks the rules (a 5xx, or an error not in its front's shape), or undefined when it is fine. */
export function problemWith(res: LightMyRequestResponse, front: 'mlflow' | 'native'): string | undefined {
  if (res.statusCode >= 500) return `status ${res.statusCode}`;
  if (res.statusCode < 400) return undefined;
  const body = parsed(res.body);
  if (front === 'mlflow') {
    if (isRecord(body) && typeof body.error_code === 'string' && typeof body.message === 'string') return undefined;
    return `status ${res.statusCode} without MLflow's {error_code, message}`;
  }
  const error = isRecord(body) ? body.error : undefined;
  if (isRecord(error) && typeof error.code === 'string' && typeof error.message === 'string' && isRecord(error.details)) return undefined;
  return `status ${res.statusCode} without Berth's {error: {code, message, details}}`;
}
