import { decodeCursor, encodeCursor, invalid, likeToRegExp, type FilterClause, type Version } from '@berth/core';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import type { RegistryDeps } from './deps.js';
import { toWireVersion } from './wire.js';

/**
 * Search over models and versions with a neutral filter (parsed from MLflow's grammar by the
 * front): AND of clauses on name, run id, source, version number and tags. Clauses an index
 * serves (exact names, run ids, version bounds) narrow the SQL; the rest are checked here.
 * Versions come back with their aliases (MLflow's own search returns them empty).
 */
export interface SearchPage<T> {
  items: T[];
  next_page_token: string | null;
}

const MAX_SCAN = 500_000;
const PROMPT_TAG = 'mlflow.prompt.is_prompt';

function matchText(value: string | null | undefined, c: FilterClause): boolean {
  if (value === null || value === undefined) return false;
  const v = c.value as string;
  switch (c.op) {
    case '=':
      return value === v;
    case '!=':
      return value !== v;
    case 'LIKE':
      return likeToRegExp(v, false).test(value);
    case 'ILIKE':
      return likeToRegExp(v, true).test(value);
    case 'IN':
      return (c.value as string[]).includes(value);
    default:
      return false;
  }
}

function matchNumber(value: number, c: FilterClause): boolean {
  const v = c.value as number;
  switch (c.op) {
    case '=':
      return value === v;
    case '!=':
      return value !== v;
    case '<':
      return value < v;
    case '<=':
      return value <= v;
    case '>':
      return value > v;
    case '>=':
      return value >= v;
    default:
      return false;
  }
}

function matches(c: FilterClause, e: { name: string; tags: Record<string, string>; run_id?: string | null; source?: string | null; version?: number }): boolean {
  switch (c.field) {
    case 'name':
      return matchText(e.name, c);
    case 'tag':
      // A tag clause only matches entities that have the tag (MLflow semantics), except the
      // prompt marker MLflow's client adds to every model search: no tag means "not a prompt".
      if (c.key === PROMPT_TAG && c.op === '!=') return e.tags[PROMPT_TAG] !== c.value;
      return c.key !== undefined && c.key in e.tags && matchText(e.tags[c.key], c);
    case 'run_id':
      return matchText(e.run_id ?? '', c);
    case 'source':
      return matchText(e.source ?? '', c);
    case 'version':
      return e.version !== undefined && matchNumber(e.version, c);
  }
}

type Order = { key: string; desc: boolean }[];

export function parseOrder(orderBy: string[], allowed: Record<string, string>, fallback: Order): Order {
  const out: Order = [];
  const seen = new Set<string>();
  for (const raw of orderBy) {
    const m = /^\s*([A-Za-z_.]+)\s*(ASC|DESC)?\s*$/i.exec(raw);
    const key = m ? allowed[m[1].toLowerCase().replace(/^attributes?\./, '')] : undefined;
    if (!m || !key) throw invalid(`Invalid order_by clause '${raw}'. Valid keys: ${Object.keys(allowed).join(', ')}`, { field: 'order_by' });
    if (seen.has(key)) throw invalid(`order_by contains duplicate fields: ${raw}`, { field: 'order_by' });
    seen.add(key);
    out.push({ key, desc: (m[2] ?? 'ASC').toUpperCase() === 'DESC' });
  }
  for (const f of fallback) if (!seen.has(f.key)) out.push(f);
  return out;
}

function compare<T>(order: Order) {
  return (a: T, b: T) => {
    for (const { key, desc } of order) {
      const x = (a as Record<string, unknown>)[key] as string | number;
      const y = (b as Record<string, unknown>)[key] as string | number;
      if (x < y) return desc ? 1 : -1;
      if (x > y) return desc ? -1 : 1;
    }
    return 0;
  };
}

function page<T>(all: T[], max: number, token: string | undefined): { items: T[]; next_page_token: string | null } {
  const offset = token ? Number(decodeCursor(token, ['o']).o) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw invalid('invalid page_token', { field: 'page_token' });
  const items = all.slice(offset, offset + max);
  return { items, next_page_token: offset + max < all.length ? encodeCursor({ o: offset + max }) : null };
}

export class SearchService {
  constructor(private readonly deps: RegistryDeps) {}

  async models(filter: FilterClause[], opts: { max: number; orderBy: string[]; pageToken?: string }): Promise<SearchPage<ModelRecord>> {
    const order = parseOrder(opts.orderBy, { name: 'name', timestamp: 'updated_at', last_updated_timestamp: 'updated_at' }, [{ key: 'name', desc: false }]);
    const tx = this.deps.store.read;
    const exact = filter.find((c) => c.field === 'name' && c.op === '=');
    let rows: ModelRecord[];
    if (exact) rows = await tx.models.findByNames([exact.value as string]);
    else {
      rows = [];
      let after: string | undefined;
      for (;;) {
        const batch = await tx.models.list({ after, limit: 1000 });
        rows.push(...batch);
        if (batch.length < 1000 || rows.length >= MAX_SCAN) break;
        after = batch[batch.length - 1].name;
      }
    }
    const hits = rows.filter((m) => filter.every((c) => matches(c, m)));
    hits.sort(compare(order));
    return page(hits, opts.max, opts.pageToken);
  }

  async versions(filter: FilterClause[], opts: { max: number; orderBy: string[]; pageToken?: string }): Promise<SearchPage<Version>> {
    const order = parseOrder(
      opts.orderBy,
      { name: 'model_name', version_number: 'version', creation_timestamp: 'created_at', timestamp: 'updated_at', last_updated_timestamp: 'updated_at' },
      [
        { key: 'updated_at', desc: true },
        { key: 'model_name', desc: false },
        { key: 'version', desc: true },
      ],
    );
    const tx = this.deps.store.read;
    const names = filter.find((c) => c.field === 'name' && c.op === '=');
    const runs = filter.find((c) => c.field === 'run_id' && (c.op === '=' || c.op === 'IN'));
    const modelIds = names ? (await tx.models.findByNames([names.value as string])).map((m) => m.id) : undefined;
    const runIds = runs ? (Array.isArray(runs.value) ? runs.value : [runs.value as string]) : undefined;
    // Every clause served by an index: order, offset and limit run in SQL (one page read).
    const indexed = filter.every((c) => c === names || c === runs || c.field === 'version');
    let p: { items: (VersionRecord & { model_name: string })[]; next_page_token: string | null };
    if (indexed) {
      const offset = opts.pageToken ? Number(decodeCursor(opts.pageToken, ['o']).o) : 0;
      if (!Number.isInteger(offset) || offset < 0) throw invalid('invalid page_token', { field: 'page_token' });
      const versionOps = filter.filter((c) => c.field === 'version').map((c) => ({ op: c.op as '=' | '!=' | '<' | '<=' | '>' | '>=', value: c.value as number }));
      // Within one model the name is constant: leave it out so (model_id, updated_at, version) serves the order.
      const sqlOrder = (modelIds?.length === 1 ? order.filter((o) => o.key !== 'model_name') : order) as { key: 'version' | 'created_at' | 'updated_at' | 'model_name'; desc: boolean }[];
      const rows = await tx.versions.searchPage({ modelIds, runIds, versionOps, order: sqlOrder, offset, limit: opts.max + 1 });
      p = { items: rows.slice(0, opts.max), next_page_token: rows.length > opts.max ? encodeCursor({ o: offset + opts.max }) : null };
    } else {
      const candidates = await tx.versions.searchCandidates({ modelIds, runIds, limit: MAX_SCAN });
      const hits = candidates.filter((v) => filter.every((c) => matches(c, { name: v.model_name, tags: v.tags, run_id: v.run_id, source: v.source, version: v.version })));
      hits.sort(compare(order));
      p = page(hits, opts.max, opts.pageToken);
    }
    const byModel = new Map<number, Map<number, string[]>>();
    for (const v of p.items) {
      if (!byModel.has(v.model_id)) {
        const m = new Map<number, string[]>();
        for (const a of await tx.aliases.listForModel(v.model_id)) m.set(a.version, [...(m.get(a.version) ?? []), a.alias]);
        byModel.set(v.model_id, m);
      }
    }
    return {
      items: p.items.map((v: VersionRecord & { model_name: string }) => toWireVersion(v.model_name, v, byModel.get(v.model_id)?.get(v.version) ?? [])),
      next_page_token: p.next_page_token,
    };
  }
}
