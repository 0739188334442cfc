import { useEffect, useRef, useState } from 'react';

/** One page of a cursor-paginated list, as the list shows it (the SDK's `Page<T>` is one). */
export interface PageOf<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Pages<T> {
  /** The rows of every page read so far, in the server's order. */
  items: T[];
  /** `loading` until the first page is read, `error` when it could not be, `ok` after. */
  status: 'loading' | 'error' | 'ok';
  /** Why the last read failed, the first page's or a later one's; cleared by the next read that succeeds. */
  error: Error | null;
  /** Whether the server has a page after the ones read ("Load more"). */
  hasMore: boolean;
  loadingMore: boolean;
  /** Reads the next page and adds it at the end. */
  more(): void;
  /** Adds a page read past the end (new rows, live), taking its cursor as the next one. */
  append(page: PageOf<T>): void;
  /** Starts again from the first page (after a change made from the page). */
  reload(): void;
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

const sameDeps = (a: readonly unknown[] | null, b: readonly unknown[]) => a !== null && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/**
 * A cursor-paged list: the first page when `deps` change, the next one on `more()`. The server's
 * cursor is the only position kept, so a list never reads more than the pages asked for; an
 * answer for older deps, or for a read since replaced, is dropped.
 *
 * A change of `deps` is another list: its rows are cleared while it loads. A change of `again`
 * (a counter the page bumps after a change made from it) or `reload()` re-reads the same list
 * from its first page and keeps the rows shown until that page lands.
 */
export function usePages<T>(
  load: (cursor: string | undefined, signal: AbortSignal) => Promise<PageOf<T>>,
  deps: readonly unknown[],
  again: unknown = null,
): Pages<T> {
  const [items, setItems] = useState<T[]>([]);
  const [status, setStatus] = useState<Pages<T>['status']>('loading');
  const [error, setError] = useState<Error | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [generation, setGeneration] = useState(0);
  const ctl = useRef<AbortController | null>(null);
  const lastDeps = useRef<readonly unknown[] | null>(null);

  const read = (after: string | undefined) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    if (after !== undefined) setLoadingMore(true);
    load(after, c.signal).then(
      (page) => {
        if (c.signal.aborted) return;
        setItems((prev) => (after !== undefined ? [...prev, ...page.items] : page.items));
        setCursor(page.next_cursor);
        setStatus('ok');
        setError(null);
        setLoadingMore(false);
      },
      (err: unknown) => {
        if (c.signal.aborted) return;
        setError(asError(err));
        // A later page that fails leaves the rows read so far, and its cursor to try again.
        setStatus((s) => (after !== undefined && s === 'ok' ? 'ok' : 'error'));
        setLoadingMore(false);
      },
    );
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the list depends on
  useEffect(() => {
    if (!sameDeps(lastDeps.current, deps)) {
      lastDeps.current = [...deps];
      setStatus('loading');
      setItems([]);
      setCursor(null);
      setError(null);
    }
    setLoadingMore(false);
    read(undefined);
    return () => ctl.current?.abort();
  }, [...deps, again, generation]);

  return {
    items,
    status,
    error,
    hasMore: cursor !== null,
    loadingMore,
    more: () => {
      if (cursor !== null && !loadingMore && status === 'ok') read(cursor);
    },
    append: (page) => {
      setItems((prev) => [...prev, ...page.items]);
      setCursor(page.next_cursor);
    },
    reload: () => setGeneration((g) => g + 1),
  };
}
