import type { AuditEvent } from '@berth/core';
import { Link } from 'wouter';
import { client } from '../../api';
import { withAt } from '../../at';
import { formatUtc } from '../time/time';
import { versionPath } from '../version/LineageGraph';
import { type AuditFilters, auditQuery, changeOf } from './audit-filters';
import { LoadMore } from './LoadMore';
import { usePages } from './use-pages';

const PAGE = 50;

/** `name:3` → the version page, `name@alias` and `name` → the model page; other subjects are plain text. */
function Subject({ e, at }: { e: AuditEvent; at: string | null }) {
  if (e.model) {
    const m = e.model;
    const version = e.subject.startsWith(`${m}:`) ? e.subject.slice(m.length + 1) : null;
    if (version && /^\d+$/.test(version)) return <Link href={withAt(versionPath(m, Number(version)), at)}>{e.subject}</Link>;
    if (e.subject === m || e.subject.startsWith(`${m}@`)) return <Link href={withAt(`/models/${encodeURIComponent(m)}`, at)}>{e.subject}</Link>;
  }
  return <code>{e.subject}</code>;
}

/** The audit trail, oldest first, a page at a time, with what each event changed. */
export function AuditTimeline({ filters, at }: { filters: AuditFilters; at: string | null }) {
  const query = auditQuery(filters, at);
  const pages = usePages<AuditEvent>((cursor) => client().listAudit({ ...query, limit: PAGE, ...(cursor ? { cursor } : {}) }), [JSON.stringify(query)]);
  return (
    <section aria-labelledby="timeline">
      <h2 id="timeline">Timeline</h2>
      {pages.status === 'loading' && <p aria-live="polite">Loading…</p>}
      {pages.status === 'error' && pages.items.length === 0 && (
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
