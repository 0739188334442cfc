import { invalid } from './errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';

/**
 * MLflow's run search grammar (`search_runs`, mlflow/utils/search_utils.py `SearchUtils`) and
 * its experiment search grammar (`SearchExperimentsUtils`): `clause (AND clause)*`, clause =
 * `identifier comparator value`, identifier = `<entity>.<key>` or a bare attribute. No OR, no
 * parentheses except an `IN` list. Parsed into neutral clauses that the registry runs as SQL.
 *
 * Entities: `metrics.` (latest value, numeric comparators), `params.` and `tags.` (strings:
 * `=`, `!=`, `LIKE`, `ILIKE`, `IS NULL`, `IS NOT NULL`), `attributes.` (run_id, run_name,
 * user_id, status, artifact_uri as strings; start_time and end_time as numbers), and
 * `datasets.` (name, digest, context). Keys with other characters are quoted with backticks or
 * double quotes: ``metrics.`val loss` ``.
 */
export type RunFilterEntity = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';
export type RunFilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

export interface RunFilterClause {
  type: RunFilterEntity;
  key: string;
  op: RunFilterOp;
  /** A number for metrics and numeric attributes, a list for IN / NOT IN, null for IS [NOT] NULL. */
  value: string | number | string[] | null;
}

export interface RunOrderKey {
  type: 'metric' | 'param' | 'tag' | 'attribute';
  key: string;
  ascending: boolean;
}

export type ExperimentFilterClause = { type: 'attribute' | 'tag'; key: string; op: RunFilterOp; value: string | number | string[] | null };
export interface ExperimentOrderKey {
  key: 'name' | 'experiment_id' | 'creation_time' | 'last_update_time';
  ascending: boolean;
}

const NUMERIC_OPS: readonly RunFilterOp[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_OPS: readonly RunFilterOp[] = ['=', '!=', 'LIKE', 'ILIKE'];
const KEYED_OPS: readonly RunFilterOp[] = [...STRING_OPS, 'IS NULL', 'IS NOT NULL'];
const LIST_OPS: readonly RunFilterOp[] = [...STRING_OPS, 'IN', 'NOT IN'];

const ENTITIES: Record<string, RunFilterEntity> = {
  metric: 'metric',
  metrics: 'metric',
  parameter: 'param',
  parameters: 'param',
  param: 'param',
  params: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

/** Run attributes as MLflow names them, with its aliases (`created`, `Run name`). */
const RUN_ATTRIBUTES: Record<string, string> = {
  run_id: 'run_id',
  run_name: 'run_name',
  user_id: 'user_id',
  status: 'status',
  artifact_uri: 'artifact_uri',
  start_time: 'start_time',
  end_time: 'end_time',
  created: 'start_time',
  Created: 'start_time',
  'run name': 'run_name',
  'Run name': 'run_name',
  'Run Name': 'run_name',
};
/** order_by accepts the attributes except the spaced run-name aliases, as MLflow does. */
const RUN_ORDER_ATTRIBUTES = Object.keys(RUN_ATTRIBUTES).filter((k) => !k.includes(' '));
const NUMERIC_RUN_ATTRIBUTES = new Set(['start_time', 'end_time']);
const DATASET_KEYS = new Set(['name', 'digest', 'context']);
const EXPERIMENT_ATTRIBUTES = ['name', 'experiment_id', 'creation_time', 'last_update_time'] as const;

type Tok = { t: 'ident' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'comma'; v: string; quoted?: boolean };

function tokenize(s: string, what: string): Tok[] {
  const out: Tok[] = [];
  const bad = (why: string) => invalid(`Invalid ${what} ${JSON.stringify(s)}: ${why}`, { field: what });
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
    const c = s[i];
    const rest = s.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      out.push({ t: 'string', v: quoted("'") });
    } else if (c === '"' || c === '`') {
      // A double-quoted token is a value, or a quoted attribute name at the start of a clause.
      out.push({ t: c === '`' ? 'ident' : 'string', v: quoted(c), quoted: true });
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', v: c });
      i++;
    } else {
      const op = /^(<=|>=|!=|<>|=|<|>)/.exec(rest);
      const num = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(?![A-Za-z_])/.exec(rest);
      const word = /^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_.]+|`[^`]*`|"[^"]*"))?/.exec(rest);
      if (op) {
        out.push({ t: 'op', v: op[1] === '<>' ? '!=' : op[1] });
        i += op[1].length;
      } else if (num) {
        out.push({ t: 'number', v: num[0] });
        i += num[0].length;
      } else if (word) {
        out.push({ t: 'ident', v: word[0] });
        i += word[0].length;
      } else {
        throw bad(`unexpected ${JSON.stringify(rest.slice(0, 10))}`);
      }
    }
  }
  return out;
}

function unquote(key: string): string {
  return /^(`[^`]*`|"[^"]*")$/.test(key) ? key.slice(1, -1) : key;
}

/** `entity.key`, or a bare (possibly quoted) attribute name. */
function splitIdentifier(tok: Tok): { entity: string | undefined; key: string } {
  if (tok.quoted) return { entity: undefined, key: tok.v };
  const dot = tok.v.indexOf('.');
  if (dot === -1) return { entity: undefined, key: tok.v };
  return { entity: tok.v.slice(0, dot), key: unquote(tok.v.slice(dot + 1)) };
}

type Grammar = 'runs' | 'experiments';

function identifier(tok: Tok, grammar: Grammar, forOrder: boolean, bad: (why: string) => Error): { type: RunFilterEntity; key: string } {
  const { entity, key } = splitIdentifier(tok);
  let type: RunFilterEntity = 'attribute';
  if (entity !== undefined) {
    const t = ENTITIES[entity];
    const allowed = grammar === 'runs' ? ['metric', 'param', 'tag', 'attribute', 'dataset'] : ['tag', 'attribute'];
    if (!t || !allowed.includes(t)) throw bad(`invalid entity type '${entity}': use ${grammar === 'runs' ? 'metrics., params., tags., attributes. or datasets.' : 'attributes. or tags.'}`);
    type = t;
  }
  if (key === '') throw bad(`missing key after '${entity}.'`);
  if (type === 'attribute') {
    if (grammar === 'experiments') {
      if (!(EXPERIMENT_ATTRIBUTES as readonly string[]).includes(key)) throw bad(`invalid attribute key '${key}': use one of ${EXPERIMENT_ATTRIBUTES.join(', ')}`);
      return { type, key };
    }
    const valid = forOrder ? RUN_ORDER_ATTRIBUTES : Object.keys(RUN_ATTRIBUTES);
    if (!valid.includes(key)) throw bad(`invalid attribute key '${key}': use one of ${[...new Set(valid.map((k) => RUN_ATTRIBUTES[k]))].join(', ')}`);
    return { type, key: RUN_ATTRIBUTES[key] };
  }
  if (type === 'dataset' && !DATASET_KEYS.has(key)) throw bad(`invalid dataset key '${key}': use name, digest or context`);
  return { type, key };
}

function comparator(toks: Tok[], i: number): { op: RunFilterOp; next: number } | undefined {
  const w = (k: number) => (toks[k]?.t === 'ident' && !toks[k].quoted ? toks[k].v.toUpperCase() : undefined);
  const tok = toks[i];
  if (tok?.t === 'op') return { op: tok.v as RunFilterOp, next: i + 1 };
  const a = w(i);
  if (a === 'LIKE' || a === 'ILIKE' || a === 'IN') return { op: a, next: i + 1 };
  if (a === 'NOT' && w(i + 1) === 'IN') return { op: 'NOT IN', next: i + 2 };
  if (a === 'IS' && w(i + 1) === 'NULL') return { op: 'IS NULL', next: i + 2 };
  if (a === 'IS' && w(i + 1) === 'NOT' && w(i + 2) === 'NULL') return { op: 'IS NOT NULL', next: i + 3 };
  return undefined;
}

function allowedOps(grammar: Grammar, type: RunFilterEntity, key: string): readonly RunFilterOp[] {
  if (type === 'metric') return NUMERIC_OPS;
  if (type === 'param' || type === 'tag') return KEYED_OPS;
  if (type === 'dataset') return LIST_OPS;
  if (grammar === 'experiments') {
    if (key === 'name') return STRING_OPS;
    if (key === 'experiment_id') return ['=', '!=', 'IN', 'NOT IN'];
    return NUMERIC_OPS;
  }
  if (NUMERIC_RUN_ATTRIBUTES.has(key)) return NUMERIC_OPS;
  return key === 'run_id' ? LIST_OPS : STRING_OPS;
}

function isNumeric(grammar: Grammar, type: RunFilterEntity, key: string): boolean {
  if (type === 'metric') return true;
  if (type !== 'attribute') return false;
  return grammar === 'runs' ? NUMERIC_RUN_ATTRIBUTES.has(key) : key === 'creation_time' || key === 'last_update_time';
}

function parseFilter(filter: string | undefined, grammar: Grammar): RunFilterClause[] {
  if (!filter || filter.trim() === '') return [];
  const bad = (why: string) => invalid(`Invalid filter ${JSON.stringify(filter)}: ${why}`, { field: 'filter' });
  const toks = tokenize(filter, 'filter');
  const out: RunFilterClause[] = [];
  let i = 0;
  for (;;) {
    const id = toks[i++];
    if (!id || !(id.t === 'ident' || (id.t === 'string' && id.quoted))) throw bad(`expected an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute, found ${id ? JSON.stringify(id.v) : 'the end'}`);
    const upper = id.quoted ? '' : id.v.toUpperCase();
    if (upper === 'OR' || upper === 'NOT') throw bad(`${upper} is not supported: only AND joins clauses`);
    const { type, key } = identifier(id, grammar, false, bad);
    const cmp = comparator(toks, i);
    if (!cmp) throw bad(`expected a comparator after ${id.v}`);
    const { op, next } = cmp;
    i = next;
    const ops = allowedOps(grammar, type, key);
    if (!ops.includes(op)) throw bad(`'${op}' is not supported for ${id.v}; use one of ${ops.join(', ')}`);
    let value: RunFilterClause['value'] = null;
    if (op === 'IN' || op === 'NOT IN') {
      if (toks[i++]?.t !== 'lparen') throw bad(`${op} needs a parenthesised list of quoted strings`);
      const list: string[] = [];
      for (;;) {
        const v = toks[i++];
        if (v?.t !== 'string') throw bad(`${op} takes a non-empty list of quoted strings`);
        list.push(v.v);
        const sep = toks[i++];
        if (sep?.t === 'rparen') break;
        if (sep?.t !== 'comma') throw bad(`expected , or ) in the ${op} list`);
      }
      value = list;
    } else if (op !== 'IS NULL' && op !== 'IS NOT NULL') {
      const v = toks[i++];
      if (!v) throw bad(`expected a value after ${op}`);
      if (isNumeric(grammar, type, key)) {
        if (v.t !== 'number') throw bad(`${id.v} compares with a number, not ${JSON.stringify(v.v)}`);
        value = Number(v.v);
      } else {
        if (v.t !== 'string') throw bad(`${id.v} compares with a quoted string, not ${v.v}`);
        value = v.v;
      }
    }
    out.push({ type, key, op, value });
    const sep = toks[i++];
    if (!sep) return out;
    if (sep.t !== 'ident' || sep.quoted || sep.v.toUpperCase() !== 'AND') {
      const w = sep.v.toUpperCase();
      throw bad(w === 'OR' || w === 'NOT' ? `${w} is not supported: only AND joins clauses` : `expected AND, found ${JSON.stringify(sep.v)}`);
    }
  }
}

function parseOrder(orderBy: readonly string[], grammar: Grammar): { type: RunFilterEntity; key: string; ascending: boolean }[] {
  const seen = new Set<string>();
  return orderBy.map((raw) => {
    const bad = (why: string) => invalid(`Invalid order_by clause ${JSON.stringify(raw)}: ${why}`, { field: 'order_by' });
    const toks = tokenize(raw, 'order_by');
    const dir = toks[1];
    if (toks.length === 0 || toks[0].t !== 'ident' || toks.length > 2 || (dir && (dir.t !== 'ident' || dir.quoted || !/^(asc|desc)$/i.test(dir.v)))) {
      throw bad('expected <key> [ASC|DESC]');
    }
    const { type, key } = identifier(toks[0], grammar, true, bad);
    if (type === 'dataset') throw bad('runs cannot be ordered by datasets');
    if (seen.has(`${type}:${key}`)) throw bad('order_by names the same key twice');
    seen.add(`${type}:${key}`);
    return { type, key, ascending: !dir || dir.v.toLowerCase() === 'asc' };
  });
}

/** Parses a `search_runs` filter; malformed or unsupported input is INVALID_ARGUMENT naming the problem. */
export function parseMlflowRunFilter(filter: string | undefined): RunFilterClause[] {
  return parseFilter(filter, 'runs');
}

/** Parses `search_runs` order_by entries (`metrics.loss DESC`, `attributes.start_time`, `params.lr ASC`). */
export function parseMlflowRunOrderBy(orderBy: readonly string[]): RunOrderKey[] {
  return parseOrder(orderBy, 'runs') as RunOrderKey[];
}

/** Parses a `search_experiments` filter: `name`, `experiment_id`, `creation_time`, `last_update_time`, `tags.<key>`. */
export function parseMlflowExperimentFilter(filter: string | undefined): ExperimentFilterClause[] {
  return parseFilter(filter, 'experiments') as ExperimentFilterClause[];
}

/** Parses `search_experiments` order_by entries; only attributes can order experiments. */
export function parseMlflowExperimentOrderBy(orderBy: readonly string[]): ExperimentOrderKey[] {
  return parseOrder(orderBy, 'experiments').map((o) => {
    if (o.type !== 'attribute') throw invalid(`Invalid order_by clause: experiments are ordered by ${EXPERIMENT_ATTRIBUTES.join(', ')} only`, { field: 'order_by' });
    return { key: o.key as ExperimentOrderKey['key'], ascending: o.ascending };
  });
}

/** Opaque offset page tokens for searches that page by position, as MLflow's do. */
export function encodeOffsetToken(offset: number): string {
  return encodeCursor({ o: offset });
}

export function decodeOffsetToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  let o: unknown;
  try {
    o = decodeCursor(token, ['o']).o;
  } catch {
    o = undefined;
  }
  if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) {
    throw invalid('Invalid page_token: pass the next_page_token of the previous page unchanged', { field: 'page_token' });
  }
  return o;
}
