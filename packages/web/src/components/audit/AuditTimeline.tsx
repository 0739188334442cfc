import { type AuditEvent, eventTypeOf, KNOWN_EVENT_TYPES } from '@berth/core';
import { useRef, useState } from 'react';
import { Link } from 'wouter';
import { client } from '../../api';
import { withAt } from '../../at';
import { liveText, useLiveEvents } from '../../live';
import { formatUtc } from '../time/time';
import { modelPath, versionPath } from '../../paths';
import { type AuditFilters, auditQuery, changeOf } from './audit-filters';
import { usePages } from '../../use-pages';
import { LoadMore } from '../common/LoadMore';

const PAGE = 50;

/** `name:3` → the version page, `name@alias` and `name` → the model page; other subjects are plain text. */
function Subject({ e, at }: { e: AuditEvent; at: string | null }) {
  if (e.model) {
    const m = e.model;
    const version = e.subject.startsWith(`${m}:`) ? e.subject.slice(m.length + 1) : null;
    if (version && /^\d+$/.test(version)) return <Link href={withAt(versionPath(m, Number(version)), at)}>{e.subject}</Link>;
    if (e.subject === m || e.subject.startsWith(`${m}@`)) return <Link href={withAt(modelPath(m), at)}>{e.subject}</Link>;
  }
  return <code>{e.subject}</code>;
}

/**
 * The audit trail, oldest first, a page at a time, with what each event changed. While it shows
 * now and its end is loaded, new events are added at the end as the event stream announces them.
 */
export function AuditTimeline({ filters, at }: { filters: AuditFilters; at: string | null }) {
  const query = auditQuery(filters, at);
  const pages = usePages<AuditEvent>((cursor) => client().listAudit({ ...query, limit: PAGE, ...(cursor ? { cursor } : {}) }), [JSON.stringify(query)]);
  const last = pages.items.at(-1);
  // An event's seq is its audit event's: the stream resumes right after the last row shown, and
  // narrows to the filters it can express (the model, the action's event type), so an empty
  // filtered timeline does not replay the whole trail. Past an `until`, nothing new can match.
  const type = filters.action ? eventTypeOf(filters.action) : '*';
  const following = at === null && !filters.until && pages.status === 'ok' && !pages.hasMore;
  const key = JSON.stringify(query);
  // The newest row shown, for this query, as of the last render or the last read that landed.
  const tail = useRef<{ key: string; seq: number; at: string | null }>({ key, seq: 0, at: null });
  if (tail.current.key !== key || (last && last.seq > tail.current.seq)) tail.current = { key, seq: last?.seq ?? 0, at: last?.at ?? null };
  const reading = useRef<{ again: boolean } | null>(null);
  const readNew = () => {
    // One read at a time; an event that arrives meanwhile makes it read once more when it lands.
    if (reading.current) {
      reading.current.again = true;
      return;
    }
    const from = tail.current;
    const state = { again: false };
    reading.current = state;
    // The rows after the last one shown, with the page's filters (actor included); a millisecond
    // early so an event stamped in the same millisecond is not skipped, and dropped by seq.
    const since = from.at ? new Date(Date.parse(from.at) - 1).toISOString() : query.since;
    client()
      .listAudit({ ...query, ...(since ? { since } : {}), limit: PAGE })
      .then((page) => {
        if (tail.current.key !== from.key) return;
        const items = page.items.filter((e) => e.seq > from.seq);
        const newest = items.at(-1);
        if (newest) tail.current = { key: from.key, seq: newest.seq, at: newest.at };
        if (items.length > 0 || page.next_cursor) pages.append({ items, next_cursor: page.next_cursor });
      })
      .catch(() => undefined)
      .finally(() => {
        reading.current = null;
        if (state.again) readNew();
      });
  };
  // The stream starts after the first page's end and stays open while rows are added.
  const [start, setStart] = useState<{ key: string; seq: number } | null>(null);
  if (following && start?.key !== key) setStart({ key, seq: last?.seq ?? 0 });
  const live = useLiveEvents(
    following && start?.key === key
      ? { after: start.seq, types: [KNOWN_EVENT_TYPES.includes(type) ? type : '*'], ...(filters.model ? { model: filters.model } : {}) }
      : null,
    readNew,
  );
  return (
    <section aria-labelledby="timeline">
      <h2 id="timeline">Timeline</h2>
      <p className={`live live-${live.status}`} aria-live="polite">
        {liveText(live)}
      </p>
      {pages.status === 'loading' && <p aria-live="polite">Loading…</p>}
      {pages.status === 'error' && (
        <p role="alert" className="error">
          {pages.error?.message}
        </p>
      )}
      {pages.status === 'ok' && pages.items.length === 0 && <p>No events match.</p>}
      {pages.items.length > 0 && (
        <table className="timeline">
          <thead>
            <tr>
              <th scope="col">Seq</th>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Subject</th>
              <th scope="col">Change</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((e) => (
              <tr key={e.seq}>
                <th scope="row">{e.seq}</th>
                <td>
                  <time dateTime={e.at}>{formatUtc(e.at)}</time>
                </td>
                <td>{e.actor}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>
                  <Subject e={e} at={at} />
                </td>
                <td>{changeOf(e) ?? ''}</td>
                <td>{e.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore pages={pages} what="events" />
    </section>
  );
}
