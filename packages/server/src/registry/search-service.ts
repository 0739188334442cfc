import { decodeCursor, encodeCursor, invalid, parseMlflowOrderBy, type FilterClause, type RegistryOrderKey } from '@berth/core';
import type { ModelRecord } from '../store/models.js';
import type { OrderKey } from '../store/search-sql.js';
import type { VersionRecord } from '../store/versions.js';
import type { RegistryDeps } from './deps.js';
import type { VersionView } from './results.js';

/**
 * Search over models and versions with a neutral filter (parsed from MLflow's grammar by the
 * front): AND of clauses on name, run id, source, version number and tags. Every clause runs
 * in SQL (tags through the indexed tag rows), pages are read in order from an index and stop
 * when full, and page tokens are keyset positions, so the cost of a page does not grow with
 * the pages before it. Versions come back with their aliases (MLflow's own search returns
 * them empty).
 */
export interface SearchPage<T> {
  items: T[];
  next_page_token: string | null;
}

/** MLflow's prompt marker: the client adds `!= 'true'` to every model search; no tag means "not a prompt". */
const ABSENT_IS_NOT_EQUAL: ReadonlySet<string> = new Set(['mlflow.prompt.is_prompt']);

/** The requested order, then the fallback keys it does not name. */
function withFallback(order: RegistryOrderKey[], fallback: readonly RegistryOrderKey[]): RegistryOrderKey[] {
  return [...order, ...fallback.filter((f) => !order.some((o) => o.key === f.key))];
}

/** Order keys as columns, the unique tiebreaker last (in the direction of the key before it, so one index scan serves). */
function orderKeys(order: RegistryOrderKey[], columns: Partial<Record<RegistryOrderKey['key'], string>>, tiebreak: string): OrderKey[] {
  const keys = order.map((o) => ({ column: columns[o.key] as string, desc: !o.ascending }));
  keys.push({ column: tiebreak, desc: keys.at(-1)?.desc ?? false });
  return keys;
}

const signature = (keys: readonly OrderKey[]) => keys.map((k) => `${k.column}:${k.desc ? 'd' : 'a'}`).join(',');

/**
 * Keyset page tokens: the last row's order-key values, plus the order they belong to, so a
 * token replayed with another order_by is refused instead of skipping rows.
 */
function decodeToken(token: string | undefined, keys: readonly OrderKey[]): (string | number)[] | undefined {
  if (!token) return undefined;
  try {
    const c = decodeCursor(token, ['k', 's']);
    const values = JSON.parse(String(c.k)) as unknown;
    if (
      c.s === signature(keys) &&
      Array.isArray(values) &&
      values.length === keys.length &&
      values.every((v) => typeof v === 'string' || typeof v === 'number')
    ) {
      return values as (string | number)[];
    }
  } catch {
    // refused below
  }
  throw invalid('invalid page_token: pass the next_page_token of the previous page unchanged, with the same filter and order_by', { field: 'page_token' });
}

function encodeToken(keys: readonly OrderKey[], values: (string | number)[]): string {
  return encodeCursor({ k: JSON.stringify(values), s: signature(keys) });
}

/** Cached pages at most, and the largest page worth keeping. */
const CACHE_ENTRIES = 256;
const CACHE_MAX_ITEMS = 1000;

export class SearchService {
  constructor(private readonly deps: RegistryDeps) {}

  /**
   * Pages are memoised while the store's change token stays the same (SQLite: no commit by
   * this process or any other since; PostgreSQL has no token and is never cached), so a
   * dashboard or client polling the same search reads it once per change. Callers must not
   * mutate what they get.
   */
  private readonly cache = new Map<string, { token: string; page: SearchPage<unknown> }>();

  private async memo<T>(key: string, compute: () => Promise<SearchPage<T>>): Promise<SearchPage<T>> {
    const token = this.deps.store.changeToken();
    if (token !== undefined) {
      const hit = this.cache.get(key);
      if (hit && hit.token === token) return hit.page as SearchPage<T>;
    }
    const page = await compute();
    if (token !== undefined && page.items.length <= CACHE_MAX_ITEMS) {
      if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, { token, page });
    }
    return page;
  }

  async models(filter: FilterClause[], opts: { max: number; orderBy: string[]; pageToken?: string }): Promise<SearchPage<ModelRecord>> {
    return this.memo(JSON.stringify(['models', filter, opts.max, opts.orderBy, opts.pageToken ?? null]), () => this.searchModels(filter, opts));
  }

  async versions(filter: FilterClause[], opts: { max: number; orderBy: string[]; pageToken?: string }): Promise<SearchPage<VersionView>> {
    return this.memo(JSON.stringify(['versions', filter, opts.max, opts.orderBy, opts.pageToken ?? null]), () => this.searchVersions(filter, opts));
  }

  private async searchModels(filter: FilterClause[], opts: { max: number; orderBy: string[]; pageToken?: string }): Promise<SearchPage<ModelRecord>> {
    const order = withFallback(parseMlflowOrderBy(opts.orderBy, 'models'), [{ key: 'name', ascending: true }]);
    const keys = orderKeys(order, { name: 'm.name', last_updated_timestamp: 'm.updated_at' }, 'm.id');
    const after = decodeToken(opts.pageToken, keys);
    const rows = await this.deps.store.read.models.search({ absentIsNotEqual: ABSENT_IS_NOT_EQUAL, clauses: filter, order: keys, after, limit: opts.max + 1 });
    const items = rows.slice(0, opts.max);
    const position = (m: ModelRecord) => keys.map((k) => ({ 'm.name': m.name, 'm.updated_at': m.updated_at, 'm.id': m.id })[k.column] as string | number);
    return { items, next_page_token: rows.length > opts.max ? encodeToken(keys, position(items[items.length - 1]!)) : null };
  }

  private async searchVersions(filter: FilterClause[], opts: { max: number; orderBy: string[]; pageToken?: string }): Promise<SearchPage<VersionView>> {
    let order = withFallback(parseMlflowOrderBy(opts.orderBy, 'versions'), [
      { key: 'last_updated_timestamp', ascending: false },
      { key: 'name', ascending: true },
      { key: 'version_number', ascending: false },
    ]);
    // Within one model the name is constant: leave it out so (model_id, updated_at, version) serves the order.
    if (filter.some((c) => c.type === 'attribute' && c.key === 'name' && c.op === '=')) order = order.filter((o) => o.key !== 'name');
    const keys = orderKeys(
      order,
      { name: 'm.name', version_number: 'v.version', creation_timestamp: 'v.created_at', last_updated_timestamp: 'v.updated_at' },
      'v.id',
    );
    const after = decodeToken(opts.pageToken, keys);
    const tx = this.deps.store.read;
    const rows = await tx.versions.search({ absentIsNotEqual: ABSENT_IS_NOT_EQUAL, clauses: filter, order: keys, after, limit: opts.max + 1 });
    const items = rows.slice(0, opts.max);
    const position = (v: VersionRecord & { model_name: string }) =>
      keys.map(
        (k) =>
          ({ 'm.name': v.model_name, 'v.version': v.version, 'v.created_at': v.created_at, 'v.updated_at': v.updated_at, 'v.id': v.id })[k.column] as
            | string
            | number,
      );
    const byModel = new Map<number, Map<number, string[]>>();
    for (const v of items) {
      if (!byModel.has(v.model_id)) {
        const m = new Map<number, string[]>();
        for (const a of await tx.aliases.listForModel(v.model_id)) m.set(a.version, [...(m.get(a.version) ?? []), a.alias]);
        byModel.set(v.model_id, m);
      }
    }
    return {
      items: items.map(({ model_name, ...v }) => ({ ...v, model: model_name, aliases: byModel.get(v.model_id)?.get(v.version) ?? [] })),
      next_page_token: rows.length > opts.max ? encodeToken(keys, position(items[items.length - 1]!)) : null,
    };
  }
}
