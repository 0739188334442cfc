import { useEffect, useState } from 'react';

export type QueryState<T> = { status: 'loading' } | { status: 'error'; error: Error } | { status: 'ok'; data: T };

/**
 * Runs `load` when any of `deps` changes and keeps its latest answer; an answer that arrives
 * after the deps changed again is dropped (no stale page after a quick navigation).
 */
export function useQuery<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): QueryState<T> & { reload(): void } {
  const [state, setState] = useState<QueryState<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => (s.status === 'ok' ? s : { status: 'loading' }));
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ status: 'ok', data }),
      (error: unknown) => !ctl.signal.aborted && setState({ status: 'error', error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
