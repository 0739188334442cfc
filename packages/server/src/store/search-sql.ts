import { sql } from 'kysely';
import { invalid, type FilterClause, type FilterEntity, type FilterOp } from '@berth/core';
import type { Sql, SqlDialect } from './dialects/sql-dialect.js';

/**
 * SQL for the neutral search clauses of `@berth/core` (parsed from MLflow's filter grammar),
 * for every search: models, versions, runs and experiments. Each search says where a
 * clause's left side lives (its `SearchTarget`); this module turns clauses into predicates the
 * database evaluates, and order keys into `ORDER BY`.
 *
 * Semantics follow MLflow: a missing value (metric, param, tag, end time) matches nothing but
 * `IS NULL`; `LIKE` is case-sensitive, `ILIKE` is not, `%` and `_` are the only wildcards and
 * there is no escape character (how each database says that is the dialect's answer).
 */

/** Where a clause's left side lives. */
export type Operand =
  /**
   * A scalar expression. `numeric`: compared as a number (a fraction against an integer column
   * compares as a double; PostgreSQL refuses '1.5' as a bigint). `emptyIfNull`: a missing
   * value compares as ''.
   */
  | { kind: 'value'; expr: Sql; numeric?: boolean; emptyIfNull?: boolean }
  /**
   * Key/value rows of the entity (`rows` selects the one for the clause's key, as `t`): the
   * clause holds when that row's `value` satisfies it. `absentIsNotEqual`: `!=` also holds
   * without the row.
   */
  | { kind: 'row'; rows: Sql; value: Sql; absentIsNotEqual?: boolean }
  /** Elements of a collection: the clause holds when any element's `value` satisfies it (MLflow's datasets). */
  | { kind: 'any'; from: Sql; value: Sql };

/** How one search reads the clauses its grammar accepts. */
export interface SearchTarget {
  /** By canonical attribute name. */
  attributes: Readonly<Record<string, Operand>>;
  /** By entity, for the clause's key. */
  keyed: Partial<Record<FilterEntity, (key: string) => Operand>>;
}

/** Tag rows (`model_tags`, `version_tags`, primary key `(owner, key)`) of the row whose id is `id`. */
export function tagRows(table: 'model_tags' | 'version_tags', owner: 'model_id' | 'version_id', id: string, absentIsNotEqual?: ReadonlySet<string>) {
  return (key: string): Operand => ({
    kind: 'row',
    rows: sql`select 1 from ${sql.table(table)} t where t.${sql.ref(owner)} = ${sql.ref(id)} and t.key = ${key}`,
    value: sql`t.value`,
    absentIsNotEqual: absentIsNotEqual?.has(key),
  });
}

/** One comparison; a NULL left side is true only for `IS NULL`. */
export function comparison(dialect: SqlDialect, lhs: Sql, op: FilterOp, value: FilterClause['value']): Sql {
  switch (op) {
    case 'IS NULL':
      return sql`${lhs} is null`;
    case 'IS NOT NULL':
      return sql`${lhs} is not null`;
    case 'IN':
      return sql`${lhs} in (${sql.join(value as string[])})`;
    case 'NOT IN':
      return sql`${lhs} not in (${sql.join(value as string[])})`;
    case 'LIKE':
      return dialect.like(lhs, value as string);
    case 'ILIKE':
      return dialect.ilike(lhs, value as string);
    default:
      return sql`${lhs} ${sql.raw(op === '!=' ? '<>' : op)} ${value as string | number}`;
  }
}

/**
 * A missing value compared as ''. Equality with non-empty values can never match a missing
 * one, so it keeps the bare column and its index.
 */
function emptyIfNull(expr: Sql, c: FilterClause): Sql {
  const values = Array.isArray(c.value) ? c.value : [c.value];
  return (c.op === '=' || c.op === 'IN') && !values.includes('') ? expr : sql`coalesce(${expr}, '')`;
}

function operand(target: SearchTarget, c: FilterClause): Operand {
  const o = c.type === 'attribute' ? (Object.hasOwn(target.attributes, c.key) ? target.attributes[c.key] : undefined) : target.keyed[c.type]?.(c.key);
  if (!o) throw invalid(`${c.type} ${c.key} does not apply to this search`, { field: 'filter' });
  return o;
}

/** The compiler proves every operand kind is handled; this only runs if that proof is bypassed. */
function unreachable(o: never): never {
  throw new Error(`unknown operand ${JSON.stringify(o)}`);
}

/** One predicate per clause, to be ANDed. */
export function filterSql(dialect: SqlDialect, clauses: readonly FilterClause[], target: SearchTarget): Sql[] {
  return clauses.map((c) => {
    const o = operand(target, c);
    switch (o.kind) {
      case 'value':
        if (o.numeric && typeof c.value === 'number' && !Number.isInteger(c.value))
          return comparison(dialect, sql`cast(${o.expr} as double precision)`, c.op, c.value);
        return comparison(dialect, o.emptyIfNull ? emptyIfNull(o.expr, c) : o.expr, c.op, c.value);
      case 'row':
        if (c.op === '!=' && o.absentIsNotEqual) return sql`not exists (${o.rows} and ${o.value} = ${c.value as string})`;
        return sql`exists (${o.rows} and ${comparison(dialect, o.value, c.op, c.value)})`;
      case 'any':
        return sql`exists (select 1 from ${o.from} where ${comparison(dialect, o.value, c.op, c.value)})`;
      default:
        return unreachable(o);
    }
  });
}

export function whereSql(predicates: readonly Sql[]): Sql {
  return predicates.length ? sql`where ${sql.join(predicates, sql` and `)}` : sql``;
}

/** One `ORDER BY` term. `text`: by code point in every database. `nullsLast`: rows without a value last, whichever the direction. */
export interface OrderTerm {
  expr: Sql;
  desc: boolean;
  text?: boolean;
  nullsLast?: boolean;
}

/** The order term of a value operand (as compared: '' for a missing value where the search says so). */
export function operandOrder(o: Operand, desc: boolean): OrderTerm {
  if (o.kind !== 'value') throw invalid('this key cannot order a search', { field: 'order_by' });
  return { expr: o.emptyIfNull ? sql`coalesce(${o.expr}, '')` : o.expr, desc, text: !o.numeric, nullsLast: true };
}

export function orderSql(dialect: SqlDialect, terms: readonly OrderTerm[]): Sql {
  const parts: Sql[] = [];
  for (const t of terms) {
    if (t.nullsLast) parts.push(sql`case when ${t.expr} is null then 1 else 0 end`);
    parts.push(sql`${t.text ? dialect.textOrder(t.expr) : t.expr} ${sql.raw(t.desc ? 'desc' : 'asc')}`);
  }
  return sql.join(parts);
}

/** A keyset order key: a column reference (`v.updated_at`) and its direction. */
export interface OrderKey {
  column: string;
  desc: boolean;
}

/**
 * The keyset order as terms. Columns compare in the database's own collation, like the
 * `afterSql` comparisons and the indexes that serve them.
 */
export function keysetOrder(keys: readonly OrderKey[]): OrderTerm[] {
  return keys.map((k) => ({ expr: sql.ref(k.column), desc: k.desc }));
}

/**
 * Rows strictly after `after` in the order of `keys` (keyset paging): the last key must be
 * unique so no row is skipped or repeated. Expanded into ORs so mixed directions work.
 */
export function afterSql(keys: readonly OrderKey[], after: readonly (string | number)[]): Sql {
  const ors = keys.map((key, i) => {
    const ands = keys.slice(0, i).map((k, j) => sql`${sql.ref(k.column)} = ${after[j]}`);
    ands.push(sql`${sql.ref(key.column)} ${sql.raw(key.desc ? '<' : '>')} ${after[i]}`);
    return sql`(${sql.join(ands, sql` and `)})`;
  });
  return sql`(${sql.join(ors, sql` or `)})`;
}

/** Options of the registry searches (models, versions). */
export interface SearchSqlOptions {
  /** Tag keys for which `!=` also matches entities without the tag (MLflow's prompt marker). */
  absentIsNotEqual?: ReadonlySet<string>;
}
