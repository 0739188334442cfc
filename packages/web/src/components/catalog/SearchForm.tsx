import { useEffect, useState } from 'react';
import type { CatalogState, SearchKind } from './catalog-url';

/** The search box: the query language of docs/api.md "Search", and what to list (models or versions). */
export function SearchForm({ state, onSearch }: { state: CatalogState; onSearch(next: CatalogState): void }) {
  const [q, setQ] = useState(state.q);
  const [kind, setKind] = useState<SearchKind>(state.kind);
  // The URL is the truth: back/forward and shared links replace what the form holds.
  useEffect(() => {
    setQ(state.q);
    setKind(state.kind);
  }, [state.q, state.kind]);
  return (
    <search>
      <form
        className="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          onSearch({ q, kind });
        }}
      >
        <label htmlFor="catalog-q">Search</label>
        <input
          id="catalog-q"
          type="search"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          placeholder="name:chat* tag:env=prod OR alias:champion"
          aria-describedby="catalog-q-help"
          spellCheck={false}
          autoComplete="off"
        />
        <label htmlFor="catalog-kind">Show</label>
        <select id="catalog-kind" value={kind} onChange={(e) => setKind(e.target.value as SearchKind)}>
          <option value="models">Models</option>
          <option value="versions">Versions</option>
        </select>
        <button type="submit">Search</button>
        <p id="catalog-q-help" className="help">
          Terms: <code>name:chat*</code> <code>tag:env=prod</code> <code>meta.base_model=llama</code> <code>alias:champion</code> <code>kind:adapter</code> or a
          word in the name; a space means AND, <code>OR</code> and parentheses group.
        </p>
      </form>
    </search>
  );
}
