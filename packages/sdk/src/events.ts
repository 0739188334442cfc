import { events as sseMessages } from 'fetch-event-stream';
import { BerthError, type BerthEvent } from '@berth/core';

/** Which events: after a seq, of some types (`alias.moved`, `alias.*`), of one model. */
export interface EventQuery {
  after?: number;
  types?: readonly string[];
  model?: string;
}

/** What `followEvents` needs of the client: one GET that answers or throws a BerthError. */
interface Requester {
  raw(
    method: string,
    path: string,
    opts: { query?: Record<string, string | number | undefined>; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response>;
}

/** Until the server says otherwise (`retry:`), how long to wait before reconnecting. */
const DEFAULT_RETRY_MS = 2000;

/** Codes worth another try: the server away (INTERNAL for unreachable) or briefly unable. */
const TRANSIENT = new Set(['INTERNAL', 'UNAVAILABLE']);

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Follows the event stream (Server-Sent Events, WHATWG HTML §9.2) until `signal` aborts: the
 * events after `after`, then live ones. A dropped connection is reopened with `Last-Event-ID`
 * (the seq of the last event yielded), so nothing is missed or repeated. The first connection's
 * failure and any refusal (a 4xx) are thrown; once connected, a server that goes away is
 * waited for.
 */
export async function* followEvents(
  client: Requester,
  q: EventQuery & { signal?: AbortSignal; onReconnect?: (err: unknown) => void },
): AsyncGenerator<BerthEvent> {
  let last = q.after ?? 0;
  let retryMs = DEFAULT_RETRY_MS;
  let connected = false;
  const query = { after: last, types: q.types?.join(','), model: q.model };
  while (!q.signal?.aborted) {
    let res: Response;
    try {
      res = await client.raw('GET', '/api/v1/events', {
        query: { ...query, after: last },
        headers: { accept: 'text/event-stream', ...(last > 0 ? { 'last-event-id': String(last) } : {}) },
        signal: q.signal,
      });
    } catch (err) {
      if (q.signal?.aborted) return;
      if (!connected || !(err instanceof BerthError) || !TRANSIENT.has(err.code)) throw err;
      q.onReconnect?.(err);
      await sleep(retryMs, q.signal);
      continue;
    }
    connected = true;
    let dropped: unknown;
    try {
      for await (const m of sseMessages(res, q.signal)) {
        if (m.retry !== undefined && m.retry > 0) retryMs = m.retry;
        if (!m.data) continue;
        const e = JSON.parse(m.data) as BerthEvent;
        last = e.seq;
        yield e;
      }
    } catch (err) {
      if (q.signal?.aborted) return;
      dropped = err;
    }
    if (q.signal?.aborted) return;
    q.onReconnect?.(dropped ?? new Error('the server ended the event stream'));
    await sleep(retryMs, q.signal);
  }
}
