import { parseInstant, parseSearchQuery, invalid } from '@berth/core';
import { Keyset } from './paging.js';
import { view as modelView } from './models-service.js';
import type { RegistryDeps } from './deps.js';
import type { ModelView, ResultPage, VersionView } from './results.js';

const SEARCH_KINDS = ['models', 'versions'] as const;
type SearchKind = (typeof SEARCH_KINDS)[number];

/** A version found by search, with its model's kind (the catalog's badge). */
export interface VersionHit extends VersionView {
  model_kind: string;
}

/** A model as the catalog showed it at a past time: its snapshot then and its aliases then. */
export interface CatalogEntryAt {
  name: string;
  kind: string;
  description: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
}

const BAD_CURSOR = 'invalid cursor: pass the next_cursor value of the previous page unchanged';

/** Cursor positions as the database can compare them: a forged one is a 400, never a driver error. */
function idPosition(raw: string | number): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) throw invalid(BAD_CURSOR, { field: 'cursor' });
  return raw;
}
function namePosition(raw: string | number): string {
  if (typeof raw !== 'string' || raw.includes('\u0000')) throw invalid(BAD_CURSOR, { field: 'cursor' });
  return raw;
}

export type SearchResult = { kind: 'models'; page: ResultPage<ModelView> } | { kind: 'versions'; page: ResultPage<VersionHit> };

/**
 * The catalog: search over models or versions with the query language of `@berth/core`
 * (`search-query.ts`), and the list of models as it stood at a past time. Pages are keyset
 * positions on an index (versions by id, newest first; models by name), so a page costs the
 * same however deep it is.
 */
export class CatalogSearch {
  constructor(private readonly deps: RegistryDeps) {}

  async search(opts: { q?: string; kind?: string; cursor?: string; limit?: unknown }): Promise<SearchResult> {
    const kind = (opts.kind ?? 'models') as SearchKind;
    if (!SEARCH_KINDS.includes(kind)) throw invalid(`invalid kind ${JSON.stringify(kind)}: use models or versions`, { field: 'kind' });
    const query = parseSearchQuery(opts.q ?? '');
    const tx = this.deps.store.read;
    if (kind === 'models') {
      const keyset = new Keyset(opts, 'n', namePosition);
      const page = keyset.page(await tx.catalog.models(query, { after: keyset.after, limit: keyset.fetch }), (m) => m.name);
      const ids = page.items.map((m) => m.id);
      const [stats, aliases] = await Promise.all([tx.models.stats(ids), tx.aliases.groupForModels(ids)]);
      return { kind, page: { items: page.items.map((m) => modelView(m, stats.get(m.id), aliases.get(m.id) ?? [])), next_cursor: page.next_cursor } };
    }
    const keyset = new Keyset(opts, 'v', idPosition);
    const page = keyset.page(await tx.catalog.versions(query, { after: keyset.after, limit: keyset.fetch }), (v) => v.id);
    const aliases = await tx.aliases.groupForModels([...new Set(page.items.map((v) => v.model_id))]);
    const items = page.items.map(({ model_name, ...v }) => ({
      ...v,
      model: model_name,
      aliases: (aliases.get(v.model_id) ?? []).filter((a) => a.version === v.version).map((a) => a.alias),
    }));
    return { kind, page: { items, next_cursor: page.next_cursor } };
  }

  /** Models that existed at `t`, with their aliases then (audit-backed, as `berth at`). */
  async at(t: unknown, opts: { cursor?: string; limit?: unknown }): Promise<{ at: number; page: ResultPage<CatalogEntryAt> }> {
    const at = parseInstant(t, 'at');
    const keyset = new Keyset(opts, 'm', idPosition);
    const tx = this.deps.store.read;
    const page = keyset.page(await tx.catalog.modelsAt(at, { after: keyset.after, limit: keyset.fetch }), (m) => m.model_id);
    const aliases = await Promise.all(page.items.map((m) => tx.aliases.allAt(m.model_id, at)));
    const items = page.items.map((m, i) => ({
      name: String(m.snapshot.name ?? ''),
      kind: String(m.snapshot.kind ?? 'model'),
      description: String(m.snapshot.description ?? ''),
      tags: (m.snapshot.tags ?? {}) as Record<string, string>,
      aliases: aliases[i]!,
    }));
    return { at, page: { items, next_cursor: page.next_cursor } };
  }
}
