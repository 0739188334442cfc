import { sql, type RawBuilder } from 'kysely';
import { invalid, type FilterClause } from '@berth/core';
import type { DialectName } from './schema.js';

/**
 * SQL for the neutral search clauses of `@berth/core` (parsed from MLflow's filter grammar):
 * every clause becomes a predicate the database evaluates while it walks an index in the
 * page's order, so a page stops reading once it is full. Tag clauses are `EXISTS` lookups
 * on the tag rows (primary key `(owner, key)`).
 *
 * Pattern semantics follow MLflow: `LIKE` is case-sensitive, `ILIKE` is not, `%` and `_` are
 * the only wildcards and there is no escape character. SQLite's `LIKE` ignores ASCII case,
 * so case-sensitive `LIKE` runs as `GLOB` with the pattern translated; PostgreSQL's `LIKE`
 * treats a backslash as an escape, so backslashes are doubled.
 */
export interface SearchTarget {
  /** Column of the entity's name (`m.name`). */
  name: string;
  /** Tag rows of the entity and the column naming their owner, plus the owner's id column. */
  tags: { table: 'model_tags' | 'version_tags'; owner: 'model_id' | 'version_id'; id: string };
  /** Version-only columns; a clause on a column the target lacks is refused. */
  runId?: string;
  source?: string;
  version?: string;
}

export interface SearchSqlOptions {
  dialect: DialectName;
  /** Tag keys for which `!=` also matches entities without the tag (MLflow's prompt marker). */
  absentIsNotEqual?: ReadonlySet<string>;
}

/** A LIKE pattern as a GLOB pattern: `%` → `*`, `_` → `?`, GLOB's own metacharacters quoted. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}

function textPredicate(col: RawBuilder<unknown>, c: FilterClause, dialect: DialectName): RawBuilder<unknown> {
  switch (c.op) {
    case '=':
      return sql`${col} = ${c.value as string}`;
    case '!=':
      return sql`${col} <> ${c.value as string}`;
    case 'IN': {
      const values = c.value as string[];
      return values.length ? sql`${col} in (${sql.join(values)})` : sql`1 = 0`;
    }
    case 'LIKE':
      return dialect === 'sqlite' ? sql`${col} glob ${likeToGlob(c.value as string)}` : sql`${col} like ${(c.value as string).replace(/\\/g, '\\\\')}`;
    case 'ILIKE':
      return dialect === 'sqlite' ? sql`${col} like ${c.value as string}` : sql`${col} ilike ${(c.value as string).replace(/\\/g, '\\\\')}`;
    default:
      throw invalid(`comparator ${c.op} does not apply to ${c.field}`, { field: 'filter' });
  }
}

function numberPredicate(col: RawBuilder<unknown>, c: FilterClause): RawBuilder<unknown> {
  if (c.op === 'IN') {
    const values = (c.value as unknown as number[]).map(Number);
    return values.length ? sql`${col} in (${sql.join(values)})` : sql`1 = 0`;
  }
  if (!['=', '!=', '<', '<=', '>', '>='].includes(c.op)) throw invalid(`comparator ${c.op} does not apply to ${c.field}`, { field: 'filter' });
  return sql`${col} ${sql.raw(c.op === '!=' ? '<>' : c.op)} ${c.value as number}`;
}

function column(name: string | undefined, c: FilterClause): RawBuilder<unknown> {
  if (!name) throw invalid(`filter field ${c.field} does not apply to this search`, { field: 'filter' });
  return sql`${sql.ref(name)}`;
}

/**
 * A missing run id or source compares as ''. Equality with a non-empty value can never match
 * a missing one, so it keeps the bare column and its index.
 */
function nullAsEmpty(col: RawBuilder<unknown>, c: FilterClause): RawBuilder<unknown> {
  const values = Array.isArray(c.value) ? c.value : [c.value];
  if ((c.op === '=' || c.op === 'IN') && !values.includes('')) return col;
  return sql`coalesce(${col}, '')`;
}

/** One predicate per clause, to be ANDed. */
export function clausePredicates(clauses: readonly FilterClause[], target: SearchTarget, opts: SearchSqlOptions): RawBuilder<unknown>[] {
  return clauses.map((c) => {
    switch (c.field) {
      case 'name':
        return textPredicate(sql`${sql.ref(target.name)}`, c, opts.dialect);
      case 'run_id':
        return textPredicate(nullAsEmpty(column(target.runId, c), c), c, opts.dialect);
      case 'source':
        return textPredicate(nullAsEmpty(column(target.source, c), c), c, opts.dialect);
      case 'version':
        return numberPredicate(column(target.version, c), c);
      case 'tag': {
        const t = target.tags;
        const key = c.key ?? '';
        const rows = sql`select 1 from ${sql.table(t.table)} t where t.${sql.ref(t.owner)} = ${sql.ref(t.id)} and t.key = ${key}`;
        if (c.op === '!=' && opts.absentIsNotEqual?.has(key)) return sql`not exists (${rows} and t.value = ${c.value as string})`;
        return sql`exists (${rows} and ${textPredicate(sql`t.value`, c, opts.dialect)})`;
      }
    }
  });
}

export interface OrderKey {
  /** Column reference (`v.updated_at`). */
  column: string;
  desc: boolean;
}

/** `ORDER BY` for the keys, in order. */
export function orderBySql(keys: readonly OrderKey[]): RawBuilder<unknown> {
  return sql.join(keys.map((k) => sql`${sql.ref(k.column)} ${sql.raw(k.desc ? 'desc' : 'asc')}`));
}

/**
 * Rows strictly after `after` in the order of `keys` (keyset paging): the last key must be
 * unique so no row is skipped or repeated. Expanded into ORs so mixed directions work.
 */
export function afterSql(keys: readonly OrderKey[], after: readonly (string | number)[]): RawBuilder<unknown> {
  const ors: RawBuilder<unknown>[] = [];
  for (let i = 0; i < keys.length; i++) {
    const ands: RawBuilder<unknown>[] = [];
    for (let j = 0; j < i; j++) ands.push(sql`${sql.ref(keys[j].column)} = ${after[j]}`);
    ands.push(sql`${sql.ref(keys[i].column)} ${sql.raw(keys[i].desc ? '<' : '>')} ${after[i]}`);
    ors.push(sql`(${sql.join(ands, sql` and `)})`);
  }
  return sql`(${sql.join(ors, sql` or `)})`;
}

export function whereSql(predicates: readonly RawBuilder<unknown>[]): RawBuilder<unknown> {
  return predicates.length ? sql`where ${sql.join(predicates, sql` and `)}` : sql``;
}
