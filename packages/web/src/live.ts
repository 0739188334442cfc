import { useEffect, useRef, useState } from 'react';
import type { BerthEvent } from '@berth/sdk';
import { client } from './api';

/** Which events to follow: after a seq (the registry's state the page read), of some types, of one model. */
export interface LiveFilter {
  after: number;
  types: readonly string[];
  model?: string;
}

/** `off` when not following (no filter: the page shows a past time, or is still loading). */
export type LiveState =
  | { status: 'off' }
  | { status: 'connecting' }
  | { status: 'live' }
  | { status: 'reconnecting'; why: string }
  | { status: 'failed'; error: Error };

/**
 * Live updates from the registry's event stream (Server-Sent Events through the SDK's
 * `client().events`, which reconnects with `Last-Event-ID` after a dropped connection, so no
 * event is missed or repeated). `onEvent` is called for each event; the stream closes when the
 * component unmounts or the filter changes. Pass null to follow nothing.
 */
export function useLiveEvents(filter: LiveFilter | null, onEvent: (e: BerthEvent) => void): LiveState {
  const [state, setState] = useState<LiveState>({ status: 'off' });
  // The latest callback, without reopening the stream each render.
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = filter ? JSON.stringify([filter.after, [...filter.types], filter.model ?? null]) : null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` is the filter's identity
  useEffect(() => {
    if (!filter) {
      setState({ status: 'off' });
      return;
    }
    const ctl = new AbortController();
    setState({ status: 'connecting' });
    (async () => {
      // The SDK yields nothing until the server answers, so "live" follows the first event or a
      // quiet moment: the stream is open once the request did not fail straight away.
      const opened = setTimeout(() => !ctl.signal.aborted && setState((s) => (s.status === 'connecting' ? { status: 'live' } : s)), 300);
      try {
        for await (const e of client().events({
          after: filter.after,
          types: filter.types,
          ...(filter.model ? { model: filter.model } : {}),
          signal: ctl.signal,
          onReconnect: (err) => setState({ status: 'reconnecting', why: err instanceof Error ? err.message : String(err) }),
        })) {
          setState((s) => (s.status === 'live' ? s : { status: 'live' }));
          handler.current(e);
        }
      } catch (err) {
        if (!ctl.signal.aborted) setState({ status: 'failed', error: err instanceof Error ? err : new Error(String(err)) });
      } finally {
        clearTimeout(opened);
      }
    })();
    return () => ctl.abort();
  }, [key]);
  return state;
}

/** What a page says about its live updates (in an `aria-live` status line); empty when not following. */
export function liveText(s: LiveState): string {
  switch (s.status) {
    case 'off':
      return '';
    case 'connecting':
      return 'Connecting to live updates…';
    case 'live':
      return 'Live: updates as the registry changes';
    case 'reconnecting':
      return `Live updates interrupted, reconnecting (${s.why})`;
    case 'failed':
      return `Live updates stopped: ${s.error.message}`;
  }
}
