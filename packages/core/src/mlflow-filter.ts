import { invalid } from './errors.js';

/**
 * MLflow's search filter grammar (`search_registered_models`, `search_model_versions`):
 * `clause (AND clause)*`, clause = `identifier comparator value`. No OR, NOT or parentheses,
 * as in MLflow (mlflow/utils/search_utils.py). Parsed into a neutral list of clauses that the
 * registry runs as indexed SQL.
 */
export type FilterField = 'name' | 'run_id' | 'source' | 'version' | 'tag';
export type FilterOp = '=' | '!=' | 'LIKE' | 'ILIKE' | 'IN' | '<' | '<=' | '>' | '>=';

export interface FilterClause {
  field: FilterField;
  key?: string; // for tags
  op: FilterOp;
  value: string | number | string[];
}

type Token = { t: 'ident' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'comma' | 'and' | 'other'; v: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== c) {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        v += s[j++];
      }
      if (j >= s.length) throw invalid(`Invalid filter string: unterminated quote in ${JSON.stringify(s)}`, { field: 'filter' });
      out.push({ t: 'string', v });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j === -1) throw invalid(`Invalid filter string: unterminated backtick in ${JSON.stringify(s)}`, { field: 'filter' });
      out.push({ t: 'ident', v: s.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(s.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[1] === '<>' ? '!=' : op[1] });
      i += op[1].length;
      continue;
    }
    if (c === '(') {
      out.push({ t: 'lparen', v: c });
      i++;
      continue;
    }
    if (c === ')') {
      out.push({ t: 'rparen', v: c });
      i++;
      continue;
    }
    if (c === ',') {
      out.push({ t: 'comma', v: c });
      i++;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(s.slice(i));
    if (num && (out.length === 0 || out[out.length - 1].t === 'op')) {
      out.push({ t: 'number', v: num[0] });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*(`[^`]*`)?/.exec(s.slice(i));
    if (word) {
      const w = word[0];
      const up = w.toUpperCase();
      if (up === 'AND') out.push({ t: 'and', v: w });
      else if (up === 'LIKE' || up === 'ILIKE' || up === 'IN') out.push({ t: 'op', v: up });
      else if (up === 'OR' || up === 'NOT') throw invalid(`Invalid clause(s) in filter string: ${up}. Only AND is supported.`, { field: 'filter' });
      else out.push({ t: 'ident', v: w });
      i += w.length;
      continue;
    }
    throw invalid(`Invalid filter string ${JSON.stringify(s)} near ${JSON.stringify(s.slice(i, i + 10))}`, { field: 'filter' });
  }
  return out;
}

function unquoteKey(k: string): string {
  if (k.startsWith('`') && k.endsWith('`')) return k.slice(1, -1);
  return k;
}

function field(ident: string, kind: 'models' | 'versions'): { field: FilterField; key?: string } {
  const lower = ident.toLowerCase();
  const tag = /^(tags?)\.(.+)$/i.exec(ident);
  if (tag) return { field: 'tag', key: unquoteKey(tag[2]) };
  const name = lower.replace(/^attributes?\./, '');
  if (name === 'name') return { field: 'name' };
  if (kind === 'versions') {
    if (name === 'run_id') return { field: 'run_id' };
    if (name === 'source_path') return { field: 'source' };
    if (name === 'version_number') return { field: 'version' };
  }
  throw invalid(`Invalid attribute key '${ident}' specified. Valid keys are ${kind === 'models' ? "'name', 'tags.<key>'" : "'name', 'run_id', 'source_path', 'version_number', 'tags.<key>'"}`, { field: 'filter' });
}

const OPS: Record<FilterField, FilterOp[]> = {
  name: ['=', '!=', 'LIKE', 'ILIKE'],
  source: ['=', '!=', 'LIKE', 'ILIKE'],
  tag: ['=', '!=', 'LIKE', 'ILIKE'],
  run_id: ['=', '!=', 'LIKE', 'ILIKE', 'IN'],
  version: ['=', '!=', '<', '<=', '>', '>='],
};

export function parseMlflowFilter(filter: string | undefined, kind: 'models' | 'versions'): FilterClause[] {
  if (!filter || filter.trim() === '') return [];
  const toks = tokenize(filter);
  const out: FilterClause[] = [];
  let i = 0;
  const bad = (why: string) => invalid(`Invalid filter string ${JSON.stringify(filter)}: ${why}`, { field: 'filter' });
  for (;;) {
    const id = toks[i++];
    const op = toks[i++];
    if (!id || id.t !== 'ident') throw bad('expected an attribute such as name or tags.<key>');
    if (!op || op.t !== 'op') throw bad(`expected a comparator after ${id.v}`);
    const f = field(id.v, kind);
    const o = op.v as FilterOp;
    if (!OPS[f.field].includes(o)) throw bad(`'${o}' is not supported for ${id.v}`);
    let value: FilterClause['value'];
    if (o === 'IN') {
      if (toks[i++]?.t !== 'lparen') throw bad('IN needs a parenthesised list');
      const list: string[] = [];
      for (;;) {
        const v = toks[i++];
        if (!v || v.t !== 'string') throw bad('IN takes quoted strings');
        list.push(v.v);
        const sep = toks[i++];
        if (sep?.t === 'rparen') break;
        if (sep?.t !== 'comma') throw bad('expected , or ) in IN list');
      }
      value = list;
    } else {
      const v = toks[i++];
      if (!v) throw bad(`expected a value after ${o}`);
      if (f.field === 'version') {
        if (v.t !== 'number' && !(v.t === 'string' && /^\d+$/.test(v.v))) throw bad('version_number compares with an integer');
        value = Number(v.v);
      } else {
        if (v.t !== 'string') throw bad(`${id.v} compares with a quoted string`);
        value = v.v;
      }
    }
    out.push({ ...f, op: o, value });
    const next = toks[i++];
    if (!next) return out;
    if (next.t !== 'and') throw bad(`expected AND, found ${JSON.stringify(next.v)}`);
  }
}

/** SQL LIKE semantics (case-sensitive), for checks outside SQL: `%` any run, `_` one character. */
export function likeToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
}
