import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid } from '@berth/core';

/**
 * MLflow requests carry their arguments in the query string (GET) or a JSON body (POST,
 * PATCH and also DELETE). Each route declares them as a TypeBox object, checked the way
 * MLflow's server reads them (mlflow/server/handlers.py, `_get_request_message`):
 * - unknown fields are ignored: clients of other MLflow versions send fields this server does not read;
 * - numbers and booleans may come as strings: protobuf's JSON writes int64 as a string, and a
 *   query string has nothing else;
 * - `null`, and an empty string where a number is expected, are an absent argument;
 * - a failure is INVALID_PARAMETER_VALUE with the field's own message (`message`, or
 *   `itemMessage` for a fault inside a list item; `{key}` and `{value}` are filled in).
 * These options are scoped to the MLflow plugins; the native API keeps its strict Ajv
 * (docs/decisions/0002).
 */
export type Args = Record<string, unknown>;

interface Messages {
  message?: string;
  itemMessage?: string;
}

/** A required string: absent, empty or not a string is "missing", as MLflow says it. */
export const Required = Type.String({ minLength: 1 });
export const OptStr = Type.Optional(Type.String({ message: "Invalid value {value} for parameter '{key}' supplied: it must be a string." }));
/** Versions are proto strings compared as integers (`"01"` is 1). A JSON number is refused, as MLflow does. */
export const VersionArg = Type.String({ pattern: '^(?!0+$)\\d{1,10}$', message: "Parameter '{key}' must be a positive integer version, not {value}." });
export const BoolArg = Type.Optional(Type.Boolean({ message: "Parameter '{key}' must be true or false." }));
export const NumArg = Type.Optional(Type.Number({ message: "Parameter '{key}' must be a number." }));
/** A list of strings (order_by, experiment_ids, stages): a JSON list, repeated query keys, or one value. */
export const StringList = Type.Optional(
  Type.Union([Type.Array(Type.Union([Type.String(), Type.Number()])), Type.String(), Type.Number()], {
    message: "Parameter '{key}' must be a list of strings.",
  }),
);
/** MLflow's `[{key, value}]` tags. */
export const TagList = Type.Optional(
  Type.Array(Type.Object({ key: Type.String({ minLength: 1 }), value: Type.Optional(Type.Union([Type.String(), Type.Null()])) }), {
    message: "Parameter '{key}' must be a list of {key, value}.",
    itemMessage: "Each tag in '{key}' needs a string key and value.",
  }),
);
/** `[{key, value}]` params: the value is kept as text whatever its JSON type. */
export const ParamList = Type.Optional(
  Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Type.Unknown()) }), {
    message: "Parameter '{key}' must be a list of {key, value}.",
    itemMessage: "Each param in '{key}' needs a string key.",
  }),
);
/** MLflow's ViewType, by name (any case, what the client sends) or number; checked by `viewType`. */
export const ViewTypeArg = Type.Optional(
  Type.Union([Type.String(), Type.Integer()], { message: "Invalid value {value} for parameter '{key}': use ACTIVE_ONLY, DELETED_ONLY or ALL." }),
);

export const tags = (list: Static<typeof TagList> | undefined): Record<string, string> => Object.fromEntries((list ?? []).map((t) => [t.key, t.value ?? '']));
export const params = (list: Static<typeof ParamList> | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((p) => [p.key, String(p.value ?? '')]));
export const stringList = (v: Static<typeof StringList> | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map(String);

const isObject = (v: unknown): v is Args => v !== null && typeof v === 'object' && !Array.isArray(v);
const branches = (s: TSchema): TSchema[] => (s.anyOf as TSchema[] | undefined) ?? [s];
const accepts = (s: TSchema, type: string) => branches(s).some((b) => b.type === type);

/** Numbers and booleans sent as strings, read as MLflow's protobuf parser reads them. */
function coerce(schema: TSchema, v: unknown): unknown {
  if (typeof v === 'string' && !accepts(schema, 'string')) {
    if (accepts(schema, 'integer') && /^\s*-?\d+\s*$/.test(v)) return Number(v);
    if (accepts(schema, 'number') && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    if (accepts(schema, 'boolean') && (v === 'true' || v === 'false')) return v === 'true';
    return v;
  }
  if (Array.isArray(v)) {
    const items = branches(schema).find((b) => b.type === 'array')?.items as TSchema | undefined;
    return items ? v.map((x) => coerce(items, x)) : v;
  }
  if (isObject(v)) {
    const props = branches(schema).find((b) => b.type === 'object')?.properties as TProperties | undefined;
    if (!props) return v;
    const out: Args = { ...v };
    for (const [k, s] of Object.entries(props)) if (k in out) out[k] = coerce(s, out[k]);
    return out;
  }
  return v;
}

/**
 * The validator the MLflow plugins give Fastify (`setValidatorCompiler`): it returns the
 * arguments with strings read as numbers where the schema wants numbers, or a BerthError that
 * the front's error handler (errors.ts) turns into MLflow's error shape.
 */
export function compileArgs(schema: TObject): (data: unknown) => { value: Args } | { error: Error } {
  const check = TypeCompiler.Compile(schema);
  const required = new Set(schema.required ?? []);
  return (data) => {
    const raw = isObject(data) ? data : {};
    const args: Args = {};
    for (const [k, v] of Object.entries(raw)) {
      const s = schema.properties[k];
      if (v === null || (v === '' && s && !accepts(s, 'string'))) continue;
      args[k] = s ? coerce(s, v) : v;
    }
    if (check.Check(args)) return { value: args };
    const e = check.Errors(args).First()!;
    const [, key = '', ...inner] = e.path.split('/');
    const field = schema.properties[key] as (TSchema & Messages) | undefined;
    const value = raw[key];
    // A required argument that is absent, or wrong with no message of its own, is "missing", as MLflow says it.
    const absent = value === undefined || value === null || value === '';
    const message =
      required.has(key) && (absent || !field?.message)
        ? `Missing value for required parameter '${key}'.`
        : (inner.length && field?.itemMessage) || field?.message || `Invalid value {value} for parameter '{key}' supplied: ${e.message.toLowerCase()}.`;
    return {
      error: invalid(
        message.replaceAll('{key}', key).replaceAll('{value}', () => shownValue(value)),
        { field: key },
      ),
    };
  };
}

/** The value a message quotes. JSON.stringify throws on a value nested thousands deep (a hostile body): that is a 400 too, not a 500. */
function shownValue(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return '(a value nested too deep to show)';
  }
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * Declares an MLflow endpoint: its arguments come from the query string for GET and from the
 * JSON body otherwise (DELETE too, as MLflow's client sends them), checked against `schema`.
 * An empty answer is `{}`.
 */
export function mlflowRoute<S extends TObject>(
  app: FastifyInstance,
  method: Method | Method[],
  url: string,
  schema: S,
  handler: (args: Static<S>, req: FastifyRequest) => Promise<unknown>,
): void {
  for (const m of Array.isArray(method) ? method : [method]) {
    app.route({
      method: m,
      url,
      schema: m === 'GET' ? { querystring: schema } : { body: schema },
      handler: async (req) => (await handler((m === 'GET' ? req.query : req.body) as Static<S>, req)) ?? {},
    });
  }
}

/** Registers `compileArgs` as the validator of every route the MLflow plugin declares. */
export function useMlflowArgs(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema }) => compileArgs(schema as TObject));
}
