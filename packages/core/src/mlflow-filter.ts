import { invalid } from './errors.js';

/**
 * MLflow's search filter grammar, one parser for every search that speaks it: registered
 * models, model versions, runs and experiments (mlflow/utils/search_utils.py `SearchUtils`,
 * `SearchModelUtils`, `SearchModelVersionUtils`, `SearchExperimentsUtils`).
 *
 * `clause (AND clause)*`, clause = `identifier comparator value`, identifier = `<entity>.<key>`
 * or a bare attribute. No OR, NOT or parentheses except an `IN` list. Keys with other
 * characters are quoted with backticks or double quotes: ``metrics.`val loss` ``. String values
 * take `'…'` or `"…"`, with a doubled quote or a backslash for a literal quote.
 *
 * What each search accepts — its entity prefixes, attributes, operators and value kinds — is
 * data (the `*_FILTER` grammars below); the tokenizer and parser are shared. The result is a
 * list of neutral clauses that the store runs as SQL.
 */
export type FilterEntity = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';
export type FilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

export interface FilterClause {
  type: FilterEntity;
  /** The attribute's canonical name (aliases resolved), or the metric, param, tag or dataset key. */
  key: string;
  op: FilterOp;
  /** A number for numeric operands, a list for IN / NOT IN, null for IS [NOT] NULL. */
  value: string | number | string[] | null;
}

/** Run search takes every entity. */
export type RunFilterClause = FilterClause;
export type ExperimentFilterClause = FilterClause & { type: 'attribute' | 'tag' };

export interface RunOrderKey {
  type: 'metric' | 'param' | 'tag' | 'attribute';
  key: string;
  ascending: boolean;
}

export interface ExperimentOrderKey {
  key: 'name' | 'experiment_id' | 'creation_time' | 'last_update_time';
  ascending: boolean;
}

/** `integer` also takes a quoted run of digits (`version_number = '3'`), as MLflow clients send it. */
type ValueKind = 'string' | 'number' | 'integer';

interface Operand {
  ops: readonly FilterOp[];
  value: ValueKind;
}

interface Attribute extends Operand {
  /** Canonical name, for aliases (`created` → `start_time`). */
  key: string;
  /** Whether order_by takes it. */
  orderable: boolean;
  /** Whether a filter takes it (the registry orders by times it cannot filter on). */
  filterable: boolean;
}

export interface FilterGrammar {
  /** What the entries are, for messages ("runs cannot be ordered by datasets"). */
  noun: string;
  /** The identifiers this grammar expects, for "expected …" messages. */
  expected: string;
  /** Entity prefixes (`tags`, `metric` …) and the entity each names; `attribute` prefixes name attributes. */
  prefixes: ReadonlyMap<string, FilterEntity>;
  /** Attributes by every name accepted for them. */
  attributes: ReadonlyMap<string, Attribute>;
  /** Keyed entities: operators, value kind, and the only keys there are when the set is closed. */
  keyed: Partial<Record<FilterEntity, Operand & { keys?: readonly string[] }>>;
  /** Entities order_by takes. */
  orderBy: readonly FilterEntity[];
  /** Prefixes and attribute names match in any case (the registry searches always have; MLflow's run search does not). */
  ignoreCase: boolean;
  /** A quoted bare identifier (`` `Run name` ``) names an attribute; without, it is taken with its quotes and refused. */
  quotedNames: boolean;
}

const NUMERIC: readonly FilterOp[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING: readonly FilterOp[] = ['=', '!=', 'LIKE', 'ILIKE'];
const STRING_OR_NULL: readonly FilterOp[] = [...STRING, 'IS NULL', 'IS NOT NULL'];
const STRING_OR_LIST: readonly FilterOp[] = [...STRING, 'IN', 'NOT IN'];

const ATTRIBUTE_PREFIXES = ['attribute', 'attributes'] as const;
const TAG_PREFIXES = ['tag', 'tags'] as const;

function prefixes(entries: Partial<Record<FilterEntity, readonly string[]>>): ReadonlyMap<string, FilterEntity> {
  return new Map(Object.entries(entries).flatMap(([entity, names]) => names.map((n) => [n, entity as FilterEntity] as const)));
}

/**
 * `names`: canonical name first, then its aliases; `filterOnly`: aliases order_by refuses;
 * `only`: the attribute is taken by filters alone, or by order_by alone.
 */
function attributes(
  list: readonly (Operand & { names: readonly [string, ...string[]]; filterOnly?: readonly string[]; only?: 'filter' | 'order' })[],
): ReadonlyMap<string, Attribute> {
  return new Map(
    list.flatMap((a) =>
      [...a.names, ...(a.filterOnly ?? [])].map(
        (n) =>
          [n, { key: a.names[0], ops: a.ops, value: a.value, orderable: a.only !== 'filter' && a.names.includes(n), filterable: a.only !== 'order' }] as const,
      ),
    ),
  );
}

const ORDER_ONLY = { ops: [], value: 'number', only: 'order' } as const;
const MODEL_ATTRIBUTES = [
  { names: ['name'], ops: STRING, value: 'string' },
  { names: ['last_updated_timestamp', 'timestamp'], ...ORDER_ONLY },
] as const;

/** `search_registered_models`. */
export const MODEL_FILTER: FilterGrammar = {
  noun: 'registered models',
  expected: 'an attribute such as name or tags.<key>',
  prefixes: prefixes({ attribute: ATTRIBUTE_PREFIXES, tag: TAG_PREFIXES }),
  attributes: attributes(MODEL_ATTRIBUTES),
  keyed: { tag: { ops: STRING, value: 'string' } },
  orderBy: ['attribute'],
  ignoreCase: true,
  quotedNames: false,
};

/** `search_model_versions`. */
export const VERSION_FILTER: FilterGrammar = {
  ...MODEL_FILTER,
  noun: 'model versions',
  attributes: attributes([
    ...MODEL_ATTRIBUTES,
    { names: ['run_id'], ops: [...STRING, 'IN'], value: 'string', only: 'filter' },
    { names: ['source_path'], ops: STRING, value: 'string', only: 'filter' },
    { names: ['version_number'], ops: NUMERIC, value: 'integer' },
    { names: ['creation_timestamp'], ...ORDER_ONLY },
  ]),
};

/** `search_runs`: run attributes as MLflow names them, with its aliases (`created`, `Run name`). */
export const RUN_FILTER: FilterGrammar = {
  noun: 'runs',
  expected: 'an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute',
  prefixes: prefixes({
    metric: ['metric', 'metrics'],
    param: ['parameter', 'parameters', 'param', 'params'],
    tag: TAG_PREFIXES,
    attribute: [...ATTRIBUTE_PREFIXES, 'attr', 'run'],
    dataset: ['dataset', 'datasets'],
  }),
  attributes: attributes([
    { names: ['run_id'], ops: STRING_OR_LIST, value: 'string' },
    // MLflow's order_by refuses the spaced aliases its filter takes.
    { names: ['run_name'], filterOnly: ['run name', 'Run name', 'Run Name'], ops: STRING, value: 'string' },
    { names: ['user_id'], ops: STRING, value: 'string' },
    { names: ['status'], ops: STRING, value: 'string' },
    { names: ['artifact_uri'], ops: STRING, value: 'string' },
    { names: ['start_time', 'created', 'Created'], ops: NUMERIC, value: 'number' },
    { names: ['end_time'], ops: NUMERIC, value: 'number' },
  ]),
  keyed: {
    metric: { ops: NUMERIC, value: 'number' },
    param: { ops: STRING_OR_NULL, value: 'string' },
    tag: { ops: STRING_OR_NULL, value: 'string' },
    dataset: { ops: STRING_OR_LIST, value: 'string', keys: ['name', 'digest', 'context'] },
  },
  orderBy: ['metric', 'param', 'tag', 'attribute'],
  ignoreCase: false,
  quotedNames: true,
};

/** `search_experiments`. */
export const EXPERIMENT_FILTER: FilterGrammar = {
  noun: 'experiments',
  expected: 'an identifier such as name, creation_time or tags.<key>',
  prefixes: prefixes({ attribute: [...ATTRIBUTE_PREFIXES, 'attr', 'run'], tag: TAG_PREFIXES }),
  attributes: attributes([
    { names: ['name'], ops: STRING, value: 'string' },
    { names: ['experiment_id'], ops: ['=', '!=', 'IN', 'NOT IN'], value: 'string' },
    { names: ['creation_time'], ops: NUMERIC, value: 'number' },
    { names: ['last_update_time'], ops: NUMERIC, value: 'number' },
  ]),
  keyed: { tag: { ops: STRING_OR_NULL, value: 'string' } },
  orderBy: ['attribute'],
  ignoreCase: false,
  quotedNames: true,
};

type Tok = { t: 'ident' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'comma'; v: string; quoted?: boolean; raw?: string };

function tokenize(s: string, bad: (why: string) => Error): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const quoted = (q: string): string => {
    let v = '';
    let j = i + 1;
    for (;;) {
      if (j >= s.length) throw bad(`unterminated ${q === '`' ? 'backtick' : 'quote'}`);
      const c = s[j];
      if (c === q && s[j + 1] === q && q !== '`') {
        v += q;
        j += 2;
      } else if (c === q) break;
      else if (c === '\\' && q !== '`' && j + 1 < s.length) {
        v += s[j + 1];
        j += 2;
      } else {
        v += c;
        j++;
      }
    }
    i = j + 1;
    return v;
  };
  while (i < s.length) {
    const c = s[i]!;
    const rest = s.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      out.push({ t: 'string', v: quoted("'") });
    } else if (c === '"' || c === '`') {
      // A double-quoted token is a value, or a quoted attribute name at the start of a clause.
      const start = i;
      const v = quoted(c);
      out.push({ t: c === '`' ? 'ident' : 'string', v, quoted: true, raw: s.slice(start, i) });
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', v: c });
      i++;
    } else {
      const op = /^(?:<=|>=|!=|<>|=|<|>)/.exec(rest);
      const num = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(?![A-Za-z_])/.exec(rest);
      const word = /^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_.]+|`[^`]*`|"[^"]*"))?/.exec(rest);
      if (op) {
        out.push({ t: 'op', v: op[0] === '<>' ? '!=' : op[0] });
        i += op[0].length;
      } else if (num) {
        out.push({ t: 'number', v: num[0] });
        i += num[0].length;
      } else if (word) {
        out.push({ t: 'ident', v: word[0] });
        i += word[0].length;
      } else {
        // `tags.` then a quote that never closes: say which.
        const open = /^\.([`"])/.exec(rest);
        throw bad(`unexpected ${JSON.stringify(rest.slice(0, 10))}${open ? `: unterminated ${open[1] === '`' ? 'backtick' : 'quote'}` : ''}`);
      }
    }
  }
  return out;
}

function unquote(key: string): string {
  return /^(`[^`]*`|"[^"]*")$/.test(key) ? key.slice(1, -1) : key;
}

const PLURAL: Record<FilterEntity, string> = { metric: 'metrics', param: 'params', tag: 'tags', attribute: 'attributes', dataset: 'datasets' };

function either(items: readonly string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}` : items.join('');
}

function attributeNames(g: FilterGrammar, forOrder: boolean): string[] {
  return [...new Set([...g.attributes.values()].filter((a) => (forOrder ? a.orderable : a.filterable)).map((a) => a.key))];
}

function identifier(tok: Tok, g: FilterGrammar, forOrder: boolean, bad: (why: string) => Error): { type: FilterEntity; key: string; operand: Operand } {
  let entity: string | undefined;
  let key = tok.v;
  if (tok.quoted) {
    if (!g.quotedNames) key = tok.raw ?? tok.v;
  } else {
    const dot = tok.v.indexOf('.');
    if (dot !== -1) [entity, key] = [tok.v.slice(0, dot), unquote(tok.v.slice(dot + 1))];
  }
  const name = (s: string) => (g.ignoreCase ? s.toLowerCase() : s);
  let type: FilterEntity = 'attribute';
  if (entity !== undefined) {
    const t = g.prefixes.get(name(entity));
    if (!t) throw bad(`invalid entity type '${entity}': use ${either([...new Set(g.prefixes.values())].map((e) => `${PLURAL[e]}.`))}`);
    type = t;
  }
  if (key === '') throw bad(`missing key after '${entity}.'`);
  if (type === 'attribute') {
    const a = g.attributes.get(name(key));
    if (!a || !(forOrder ? a.orderable : a.filterable)) throw bad(`invalid attribute key '${key}': use one of ${attributeNames(g, forOrder).join(', ')}`);
    return { type, key: a.key, operand: a };
  }
  const spec = g.keyed[type]!;
  if (spec.keys && !spec.keys.includes(key)) throw bad(`invalid ${type} key '${key}': use ${either(spec.keys)}`);
  return { type, key, operand: spec };
}

function comparator(toks: Tok[], i: number): { op: FilterOp; next: number } | undefined {
  const w = (k: number) => (toks[k]?.t === 'ident' && !toks[k].quoted ? toks[k].v.toUpperCase() : undefined);
  const tok = toks[i];
  if (tok?.t === 'op') return { op: tok.v as FilterOp, next: i + 1 };
  const a = w(i);
  if (a === 'LIKE' || a === 'ILIKE' || a === 'IN') return { op: a, next: i + 1 };
  if (a === 'NOT' && w(i + 1) === 'IN') return { op: 'NOT IN', next: i + 2 };
  if (a === 'IS' && w(i + 1) === 'NULL') return { op: 'IS NULL', next: i + 2 };
  if (a === 'IS' && w(i + 1) === 'NOT' && w(i + 2) === 'NULL') return { op: 'IS NOT NULL', next: i + 3 };
  return undefined;
}

function joiner(tok: Tok): string | undefined {
  const w = tok.t === 'ident' && !tok.quoted ? tok.v.toUpperCase() : '';
  return w === 'OR' || w === 'NOT' ? `${w} is not supported. Only AND joins clauses` : undefined;
}

function value(tok: Tok | undefined, operand: Operand, op: FilterOp, id: Tok, bad: (why: string) => Error): FilterClause['value'] {
  if (!tok) throw bad(`expected a value after ${op}`);
  if (operand.value === 'string') {
    if (tok.t !== 'string') throw bad(`${id.v} compares with a quoted string, not ${tok.v}`);
    return tok.v;
  }
  if (tok.t === 'number' || (operand.value === 'integer' && tok.t === 'string' && /^\d+$/.test(tok.v))) return Number(tok.v);
  throw bad(`${id.v} compares with ${operand.value === 'integer' ? 'an integer' : 'a number'}, not ${JSON.stringify(tok.v)}`);
}

/** Parses a filter in `grammar`; malformed or unsupported input is INVALID_ARGUMENT naming the problem. */
export function parseFilter(filter: string | undefined, grammar: FilterGrammar): FilterClause[] {
  if (!filter || filter.trim() === '') return [];
  const bad = (why: string) => invalid(`Invalid filter string ${JSON.stringify(filter)}: ${why}`, { field: 'filter' });
  const toks = tokenize(filter, bad);
  const out: FilterClause[] = [];
  let i = 0;
  for (;;) {
    const id = toks[i++];
    if (!id || !(id.t === 'ident' || (id.t === 'string' && id.quoted && grammar.quotedNames))) {
      throw bad(`expected ${grammar.expected}, found ${id ? JSON.stringify(id.v) : 'the end'}`);
    }
    const refused = joiner(id);
    if (refused) throw bad(refused);
    const { type, key, operand } = identifier(id, grammar, false, bad);
    const cmp = comparator(toks, i);
    if (!cmp) throw bad(`expected a comparator after ${id.v}`);
    const { op } = cmp;
    i = cmp.next;
    if (!operand.ops.includes(op)) throw bad(`'${op}' is not supported for ${id.v}; use one of ${operand.ops.join(', ')}`);
    let v: FilterClause['value'] = null;
    if (op === 'IN' || op === 'NOT IN') {
      if (toks[i++]?.t !== 'lparen') throw bad(`${op} needs a parenthesised list of quoted strings`);
      const list: string[] = [];
      for (;;) {
        const item = toks[i++];
        if (item?.t !== 'string') throw bad(`${op} takes a non-empty list of quoted strings`);
        list.push(item.v);
        const sep = toks[i++];
        if (sep?.t === 'rparen') break;
        if (sep?.t !== 'comma') throw bad(`expected , or ) in the ${op} list`);
      }
      v = list;
    } else if (op !== 'IS NULL' && op !== 'IS NOT NULL') {
      v = value(toks[i++], operand, op, id, bad);
    }
    out.push({ type, key, op, value: v });
    const sep = toks[i++];
    if (!sep) return out;
    if (sep.t !== 'ident' || sep.quoted || sep.v.toUpperCase() !== 'AND') throw bad(joiner(sep) ?? `expected AND, found ${JSON.stringify(sep.v)}`);
  }
}

/** Parses order_by entries (`metrics.loss DESC`, `attributes.start_time`, `name ASC`) in `grammar`. */
export function parseOrderBy(orderBy: readonly string[], grammar: FilterGrammar): { type: FilterEntity; key: string; ascending: boolean }[] {
  const seen = new Set<string>();
  return orderBy.map((raw) => {
    const bad = (why: string) => invalid(`Invalid order_by clause ${JSON.stringify(raw)}: ${why}`, { field: 'order_by' });
    const toks = tokenize(raw, bad);
    const [first, dir] = toks;
    if (first?.t !== 'ident' || toks.length > 2 || (dir && (dir.t !== 'ident' || dir.quoted || !/^(asc|desc)$/i.test(dir.v)))) {
      throw bad('expected <key> [ASC|DESC]');
    }
    const { type, key } = identifier(first, grammar, true, bad);
    if (!grammar.orderBy.includes(type)) {
      const by =
        grammar.orderBy.length === 1 && grammar.orderBy[0] === 'attribute'
          ? attributeNames(grammar, true).join(', ')
          : either(grammar.orderBy.map((e) => `${PLURAL[e]}.`));
      throw bad(`${grammar.noun} cannot be ordered by ${PLURAL[type]}: they are ordered by ${by}`);
    }
    if (seen.has(`${type}:${key}`)) throw bad('order_by names the same key twice');
    seen.add(`${type}:${key}`);
    return { type, key, ascending: !dir || dir.v.toLowerCase() === 'asc' };
  });
}

/** Parses a `search_registered_models` or `search_model_versions` filter. */
export function parseMlflowFilter(filter: string | undefined, kind: 'models' | 'versions'): FilterClause[] {
  return parseFilter(filter, kind === 'models' ? MODEL_FILTER : VERSION_FILTER);
}

/** Parses a `search_runs` filter. */
export function parseMlflowRunFilter(filter: string | undefined): RunFilterClause[] {
  return parseFilter(filter, RUN_FILTER);
}

/** Order keys of `search_registered_models` and `search_model_versions`: attributes by their canonical names. */
export interface RegistryOrderKey {
  key: 'name' | 'last_updated_timestamp' | 'version_number' | 'creation_timestamp';
  ascending: boolean;
}

/** Parses `search_registered_models` or `search_model_versions` order_by entries; only attributes order them. */
export function parseMlflowOrderBy(orderBy: readonly string[], kind: 'models' | 'versions'): RegistryOrderKey[] {
  return parseOrderBy(orderBy, kind === 'models' ? MODEL_FILTER : VERSION_FILTER).map((o) => ({
    key: o.key as RegistryOrderKey['key'],
    ascending: o.ascending,
  }));
}

/** Parses `search_runs` order_by entries. */
export function parseMlflowRunOrderBy(orderBy: readonly string[]): RunOrderKey[] {
  return parseOrderBy(orderBy, RUN_FILTER) as RunOrderKey[];
}

/** Parses a `search_experiments` filter: `name`, `experiment_id`, `creation_time`, `last_update_time`, `tags.<key>`. */
export function parseMlflowExperimentFilter(filter: string | undefined): ExperimentFilterClause[] {
  return parseFilter(filter, EXPERIMENT_FILTER) as ExperimentFilterClause[];
}

/** Parses `search_experiments` order_by entries; only attributes order experiments. */
export function parseMlflowExperimentOrderBy(orderBy: readonly string[]): ExperimentOrderKey[] {
  return parseOrderBy(orderBy, EXPERIMENT_FILTER).map((o) => ({ key: o.key as ExperimentOrderKey['key'], ascending: o.ascending }));
}

/** SQL LIKE semantics (case-sensitive), for checks outside SQL: `%` any run, `_` one character. */
export function likeToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  const body = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
}
