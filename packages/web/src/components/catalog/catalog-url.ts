/**
 * The catalog's state lives in its URL (`/?q=…&kind=versions&at=…`), so a shared link shows
 * the same search. Pure, for the page and its tests.
 */
export type SearchKind = 'models' | 'versions';

export interface CatalogState {
  q: string;
  kind: SearchKind;
}

export function readCatalogState(search: string): CatalogState {
  const p = new URLSearchParams(search);
  return { q: p.get('q') ?? '', kind: p.get('kind') === 'versions' ? 'versions' : 'models' };
}

/** The catalog URL for `state`, keeping `at` when set; defaults are left out. */
export function catalogHref(state: CatalogState, at: string | null): string {
  const p = new URLSearchParams();
  if (state.q.trim()) p.set('q', state.q.trim());
  if (state.kind !== 'models') p.set('kind', state.kind);
  if (at) p.set('at', at);
  const qs = p.toString();
  return qs ? `/?${qs}` : '/';
}
