import { invalid } from './errors.js';

/**
 * The catalog's search language (`GET /api/v1/search?q=`), parsed here without I/O so every
 * front and the web UI read it the same way:
 *
 *   name:chat*   tag:env=prod   tag:env   meta.base_model=llama   alias:champion   kind:adapter   chat
 *
 * Terms are joined by AND (a space, or the word `AND`) and `OR`; AND binds tighter than OR and
 * parentheses group. A bare word matches names that contain it. Names match without regard to
 * case and `*` is their only wildcard; tag, metadata, alias and kind values match exactly. A
 * value with spaces or special characters is written in double quotes (`"a b"`, `\"` and `\\`
 * inside).
 */
export type SearchTerm =
  | { type: 'name'; pattern: string }
  | { type: 'kind'; kind: string }
  | { type: 'tag'; key: string; value: string | null }
  | { type: 'meta'; path: string[]; value: string }
  | { type: 'alias'; alias: string };

export type SearchExpr = { op: 'and' | 'or'; args: SearchExpr[] } | { op: 'term'; term: SearchTerm };

/** A query as terms; `null` when the query is empty (everything matches). */
export type SearchQuery = SearchExpr | null;

/** Longest accepted query: a search box, not a program. */
export const MAX_SEARCH_QUERY = 1000;
const MAX_DEPTH = 16;

type Token = { t: 'word'; text: string; quoted: boolean } | { t: '(' } | { t: ')' };

function bad(message: string): Error {
  return invalid(`invalid search query: ${message}`, { field: 'q' });
}

/** Words, quoted strings and parentheses; a quoted part may sit inside a word (`tag:team="ml ops"`). */
function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const ch = q[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')') {
      out.push({ t: ch });
      i++;
    } else {
      let text = '';
      // A word that starts with a quote is a phrase (a bare word), even `"OR"`.
      const quoted = ch === '"';
      while (i < q.length && !/[\s()]/.test(q[i]!)) {
        if (q[i] === '"') {
          i++;
          for (;;) {
            if (i >= q.length) throw bad('a quoted value is not closed: end it with "');
            const c = q[i++]!;
            if (c === '"') break;
            if (c === '\\' && i < q.length) text += q[i++]!;
            else text += c;
          }
        } else {
          text += q[i++]!;
        }
      }
      out.push({ t: 'word', text, quoted });
    }
  }
  return out;
}

function nonEmpty(what: string, value: string, example: string): string {
  if (value === '') throw bad(`${what} needs a value, as in ${example}`);
  return value;
}

function parseTerm(word: string, quoted: boolean): SearchTerm {
  if (quoted) return { type: 'name', pattern: `*${word}*` };
  const colon = word.indexOf(':');
  const eq = word.indexOf('=');
  if (word.startsWith('meta.') && eq > 0 && (colon < 0 || colon > eq)) {
    const path = word.slice(5, eq).split('.');
    if (path.some((p) => p === '')) throw bad(`metadata path ${JSON.stringify(word.slice(0, eq))} has an empty part: write meta.base_model=llama`);
    return { type: 'meta', path, value: word.slice(eq + 1) };
  }
  if (colon > 0) {
    const field = word.slice(0, colon).toLowerCase();
    const value = word.slice(colon + 1);
    switch (field) {
      case 'name':
        return { type: 'name', pattern: nonEmpty('name:', value, 'name:chat*') };
      case 'kind':
        return { type: 'kind', kind: nonEmpty('kind:', value, 'kind:adapter') };
      case 'alias':
        return { type: 'alias', alias: nonEmpty('alias:', value, 'alias:champion') };
      case 'tag': {
        const at = value.indexOf('=');
        if (at < 0) return { type: 'tag', key: nonEmpty('tag:', value, 'tag:env=prod'), value: null };
        return { type: 'tag', key: nonEmpty('tag:', value.slice(0, at), 'tag:env=prod'), value: value.slice(at + 1) };
      }
      default:
        throw bad(`unknown field ${JSON.stringify(field)}: use name:, tag:, meta.<field>=, alias: or kind:`);
    }
  }
  return { type: 'name', pattern: `*${word}*` };
}

/** Parses `q`; a malformed query is an INVALID_ARGUMENT error saying what to fix. */
export function parseSearchQuery(q: string): SearchQuery {
  if (q.length > MAX_SEARCH_QUERY) throw bad(`longer than ${MAX_SEARCH_QUERY} characters`);
  // No stored name, tag or text can hold a control character, and PostgreSQL refuses NUL outright.
  for (const ch of q) {
    const code = ch.charCodeAt(0);
    if ((code < 0x20 && ch !== '\t' && ch !== '\n' && ch !== '\r') || code === 0x7f) throw bad('it holds a control character');
  }
  const tokens = tokenize(q);
  let pos = 0;
  const isWord = (tok: Token | undefined, text: string) => tok?.t === 'word' && !tok.quoted && tok.text === text;

  const flat = (op: 'and' | 'or', args: SearchExpr[]): SearchExpr => (args.length === 1 ? args[0]! : { op, args });

  function or(depth: number): SearchExpr {
    const args = [and(depth)];
    while (isWord(tokens[pos], 'OR')) {
      pos++;
      args.push(and(depth));
    }
    return flat('or', args);
  }

  function and(depth: number): SearchExpr {
    const args = [unary(depth)];
    for (;;) {
      const tok = tokens[pos];
      if (tok === undefined || tok.t === ')' || isWord(tok, 'OR')) break;
      if (isWord(tok, 'AND')) pos++;
      args.push(unary(depth));
    }
    return flat('and', args);
  }

  function unary(depth: number): SearchExpr {
    const tok = tokens[pos++];
    if (tok === undefined) throw bad('it ends where a term was expected (after AND or OR)');
    if (tok.t === ')') throw bad('a ) without its (');
    if (tok.t === '(') {
      if (depth >= MAX_DEPTH) throw bad(`parentheses nested deeper than ${MAX_DEPTH}`);
      const inner = or(depth + 1);
      if (tokens[pos]?.t !== ')') throw bad('a ( is not closed: add )');
      pos++;
      return inner;
    }
    if (isWord(tok, 'OR') || isWord(tok, 'AND')) throw bad(`${tok.text} needs a term on each side`);
    return { op: 'term', term: parseTerm(tok.text, tok.quoted) };
  }

  if (tokens.length === 0) return null;
  const expr = or(0);
  if (pos < tokens.length) throw bad('a ) without its (');
  return expr;
}

/**
 * Metadata fields with a longer path or value are left out of the field index (and found by
 * reading the JSON instead): together they stay inside PostgreSQL's limit on a B-tree entry
 * (about 2,700 bytes) at 3 UTF-8 bytes per UTF-16 unit.
 */
export const MAX_INDEXED_META_KEY = 256;
export const MAX_INDEXED_META_VALUE = 512;

/** Whether a metadata field of this path and value is in the field index. */
export function isIndexedMetaField(key: string, value: string): boolean {
  return key.length <= MAX_INDEXED_META_KEY && value.length <= MAX_INDEXED_META_VALUE;
}
/** Objects nested deeper than this are left out of the field index. */
export const MAX_INDEXED_META_DEPTH = 8;

/**
 * The scalar fields of a version's metadata as the search index stores them: the path joined
 * by `.` (so `meta.train.lr=` finds `{"train": {"lr": 0.1}}` and `{"train.lr": 0.1}` alike) and
 * the value as text (numbers as JavaScript prints them, booleans as `true`/`false`). Arrays,
 * nulls, paths and values over their limits (isIndexedMetaField) and objects below MAX_INDEXED_META_DEPTH
 * are left out.
 */
export function metadataFields(metadata: Record<string, unknown>): { key: string; value: string }[] {
  const out = new Map<string, { key: string; value: string }>();
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix + k;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        const value = String(v);
        if (isIndexedMetaField(key, value)) out.set(JSON.stringify([key, value]), { key, value });
      } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < MAX_INDEXED_META_DEPTH) {
        walk(v as Record<string, unknown>, `${key}.`, depth + 1);
      }
    }
  };
  walk(metadata, '', 1);
  return [...out.values()];
}
