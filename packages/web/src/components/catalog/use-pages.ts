import { useEffect, useRef, useState } from 'react';

/** One page of a cursor-paginated list, reduced to what the list shows. */
export interface PageOf<T> {
  items: T[];
  next_cursor: string | null;
}

export type PagesState<T> =
  | { status: 'loading' }
  | { status: 'error'; error: Error }
  | { status: 'ok'; items: T[]; more: boolean; loadingMore: boolean; moreError: Error | null };

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

/**
 * A list read a page at a time: the first page when `deps` change, the next one on
 * `loadMore()` (appended). Answers that arrive after the deps changed are dropped.
 */
export function usePages<T>(load: (cursor: string | undefined) => Promise<PageOf<T>>, deps: readonly unknown[]): PagesState<T> & { loadMore(): void } {
  const [state, setState] = useState<PagesState<T>>({ status: 'loading' });
  const cursor = useRef<string | null>(null);
  const generation = useRef(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  useEffect(() => {
    const mine = ++generation.current;
    setState({ status: 'loading' });
    load(undefined).then(
      (page) => {
        if (mine !== generation.current) return;
        cursor.current = page.next_cursor;
        setState({ status: 'ok', items: page.items, more: page.next_cursor !== null, loadingMore: false, moreError: null });
      },
      (error: unknown) => mine === generation.current && setState({ status: 'error', error: asError(error) }),
    );
  }, [...deps]);

  const loadMore = () => {
    if (state.status !== 'ok' || !cursor.current || state.loadingMore) return;
    const mine = generation.current;
    setState({ ...state, loadingMore: true, moreError: null });
    load(cursor.current).then(
      (page) => {
        if (mine !== generation.current) return;
        cursor.current = page.next_cursor;
        setState((s) => (s.status === 'ok' ? { ...s, items: [...s.items, ...page.items], more: page.next_cursor !== null, loadingMore: false } : s));
      },
      (error: unknown) => mine === generation.current && setState((s) => (s.status === 'ok' ? { ...s, loadingMore: false, moreError: asError(error) } : s)),
    );
  };

  return { ...state, loadMore };
}
