import { useEffect, useRef, useState } from 'react';

export interface PageOf<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Pages<T> {
  items: T[];
  status: 'loading' | 'error' | 'ok';
  error: Error | null;
  /** Whether the server has a next page ("Load more"). */
  hasMore: boolean;
  loadingMore: boolean;
  more(): void;
  /** Adds a page read past the end (new items, live), taking its cursor as the next one. */
  append(page: PageOf<T>): void;
}

/**
 * A cursor-paged list: the first page when `deps` change, the next one on `more()`; the server's
 * cursor is the only position kept, so a list never loads more than the pages asked for.
 */
export function usePages<T>(load: (cursor: string | undefined, signal: AbortSignal) => Promise<PageOf<T>>, deps: readonly unknown[]): Pages<T> {
  const [items, setItems] = useState<T[]>([]);
  const [status, setStatus] = useState<Pages<T>['status']>('loading');
  const [error, setError] = useState<Error | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const ctl = useRef<AbortController | null>(null);

  const fetchPage = (after: string | undefined, append: boolean) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    if (append) setLoadingMore(true);
    load(after, c.signal).then(
      (page) => {
        if (c.signal.aborted) return;
        setItems((prev) => (append ? [...prev, ...page.items] : page.items));
        setCursor(page.next_cursor);
        setStatus('ok');
        setError(null);
        setLoadingMore(false);
      },
      (err: unknown) => {
        if (c.signal.aborted) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setStatus('error');
        setLoadingMore(false);
      },
    );
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the list depends on
  useEffect(() => {
    setStatus('loading');
    setItems([]);
    setCursor(null);
    fetchPage(undefined, false);
    return () => ctl.current?.abort();
  }, [...deps]);

  return {
    items,
    status,
    error,
    hasMore: cursor !== null,
    loadingMore,
    more: () => {
      if (cursor !== null && !loadingMore) fetchPage(cursor, true);
    },
    append: (page) => {
      setItems((prev) => [...prev, ...page.items]);
      setCursor(page.next_cursor);
    },
  };
}
