import { useCallback, useEffect, useRef, useState } from 'react';
import type { Page } from '@berth/core';

export interface Pages<T> {
  items: T[];
  error: Error | null;
  loading: boolean;
  /** Whether the server has another page after the loaded ones. */
  more: boolean;
  loadMore(): void;
  /** Starts again from the first page (after a change made from the page). */
  reload(): void;
}

/**
 * A list read page by page with the server's cursor ("Load more"), never all at once. A change
 * of `deps` starts again from the first page; an answer for older deps is dropped.
 */
export function usePages<T>(load: (cursor: string | undefined) => Promise<Page<T>>, deps: readonly unknown[]): Pages<T> {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const live = useRef(0);

  const fetchPage = useCallback(
    (after: string | undefined, gen: number, append: boolean) => {
      setLoading(true);
      load(after).then(
        (page) => {
          if (live.current !== gen) return;
          setItems((prev) => (append ? [...prev, ...page.items] : page.items));
          setCursor(page.next_cursor);
          setError(null);
          setLoading(false);
        },
        (err: unknown) => {
          if (live.current !== gen) return;
          setError(err instanceof Error ? err : new Error(String(err)));
          setLoading(false);
        },
      );
    },
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
    deps,
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new generation starts on new deps or a reload
  useEffect(() => {
    live.current += 1;
    fetchPage(undefined, live.current, false);
  }, [fetchPage, generation]);

  return {
    items,
    error,
    loading,
    more: cursor !== null,
    loadMore: () => cursor !== null && fetchPage(cursor, live.current, true),
    reload: () => setGeneration((g) => g + 1),
  };
}
