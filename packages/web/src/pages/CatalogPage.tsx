import type { CatalogEntryAt, Model, VersionHit } from '@berth/core';
import { useLocation, useSearch } from 'wouter';
import { client } from '../api';
import { useAt } from '../at';
import { AtBanner } from '../components/time/AtBanner';
import { catalogHref, readCatalogState } from '../components/catalog/catalog-url';
import { ModelResults } from '../components/catalog/ModelResults';
import { SearchForm } from '../components/catalog/SearchForm';
import { LoadMore } from '../components/common/LoadMore';
import { usePages, type PageOf } from '../use-pages';
import { VersionResults } from '../components/catalog/VersionResults';

const PAGE = 50;

type Row = { kind: 'model'; model: Model | CatalogEntryAt } | { kind: 'version'; version: VersionHit };

/**
 * The catalog (`/`): search over models or versions now, a page at a time; at a past time
 * (`?at=`), the models that existed then with their aliases then.
 */
export function CatalogPage() {
  const at = useAt();
  const search = useSearch();
  const [, navigate] = useLocation();
  const state = readCatalogState(search);

  const list = usePages<Row>(
    async (cursor): Promise<PageOf<Row>> => {
      if (at) {
        const page = await client().catalogAt(at, { cursor, limit: PAGE });
        return { items: page.items.map((model) => ({ kind: 'model', model })), next_cursor: page.next_cursor };
      }
      const page = await client().search({ q: state.q, kind: state.kind, cursor, limit: PAGE });
      const items: Row[] =
        page.kind === 'versions'
          ? (page.versions ?? []).map((version) => ({ kind: 'version', version }))
          : (page.models ?? []).map((model) => ({ kind: 'model', model }));
      return { items, next_cursor: page.next_cursor };
    },
    [at, state.q, state.kind],
  );

  const noun = at || state.kind === 'models' ? 'model' : 'version';
  return (
    <>
      <h1>Catalog</h1>
      {at && <AtBanner at={at} />}
      {at ? (
        <p className="help">Search covers the registry now; this list is every model that existed at that time, with its aliases then.</p>
      ) : (
        <SearchForm state={state} onSearch={(next) => navigate(catalogHref(next, null))} />
      )}
      <p className="status" aria-live="polite">
        {list.status === 'loading' && 'Loading…'}
        {list.status === 'ok' && `${list.items.length}${list.hasMore ? '+' : ''} ${noun}${list.items.length === 1 && !list.hasMore ? '' : 's'} shown`}
      </p>
      {list.status === 'error' && (
        <p className="error" role="alert">
          {list.error?.message}
        </p>
      )}
      {list.status === 'ok' && list.items.length === 0 && <p>{state.q && !at ? 'Nothing matches this search.' : 'No models yet.'}</p>}
      {list.status === 'ok' &&
        list.items.length > 0 &&
        (list.items[0]?.kind === 'version' ? (
          <VersionResults versions={list.items.flatMap((r) => (r.kind === 'version' ? [r.version] : []))} />
        ) : (
          <ModelResults models={list.items.flatMap((r) => (r.kind === 'model' ? [r.model] : []))} at={at} />
        ))}
      <LoadMore pages={list} />
    </>
  );
}
