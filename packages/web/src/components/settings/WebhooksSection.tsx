import { useState } from 'react';
import type { Delivery, Webhook } from '@berth/core';
import { client } from '../../api';
import { ApiError } from '../common/ApiError';
import { useAction } from '../../use-action';
import { usePages } from '../../use-pages';
import { LoadMore } from '../common/LoadMore';
import { formatUtc } from '../time/time';

const before = (iso: string, at: string | null) => at === null || Date.parse(iso) <= Date.parse(at);

/** A webhook's delivery log, newest first, a page at a time, each delivery replayable (admin). */
function DeliveryLog({ hook, at, canChange }: { hook: Webhook; at: string | null; canChange: boolean }) {
  const [refresh, setRefresh] = useState(0);
  const [status, setStatus] = useState('');
  const action = useAction();
  const log = usePages((cursor) => client().listDeliveries(hook.id, { cursor, limit: 20 }), [hook.id], refresh);
  const rows = log.items.filter((d) => before(d.created_at, at));

  function replay(d: Delivery) {
    void action.run(async () => {
      const again = await client().replayDelivery(d.id);
      setStatus(`Replayed ${d.event_type} #${d.event_seq} to ${hook.url} as delivery ${again.id} (${again.state}).`);
      setRefresh((r) => r + 1);
    });
  }

  return (
    <div className="deliveries">
      <p className="status" aria-live="polite">
        {status}
      </p>
      <ApiError error={action.error} />
      <ApiError error={log.status === 'error' ? log.error : null} />
      <table>
        <caption>Deliveries to {hook.url}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Created</th>
            <th scope="col">Event</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            {canChange ? <th scope="col">Action</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id}>
              <td>
                <time dateTime={d.created_at}>{formatUtc(d.created_at)}</time>
              </td>
              <th scope="row">
                {d.event_type} #{d.event_seq}
              </th>
              <td className={`delivery-${d.state}`}>{d.state}</td>
              <td>{d.attempts}</td>
              <td>
                {d.last_status ?? ''}
                {d.last_error ? ` ${d.last_error}` : ''}
                {d.latency_ms !== null ? ` (${d.latency_ms} ms)` : ''}
              </td>
              {canChange ? (
                <td>
                  <button type="button" onClick={() => replay(d)}>
                    Replay {d.event_type} #{d.event_seq}
                  </button>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      {log.status === 'ok' && rows.length === 0 ? <p>No deliveries yet.</p> : null}
      <LoadMore pages={log} what="deliveries" />
    </div>
  );
}

/** Webhooks (admin): each with its delivery log and replay. */
export function WebhooksSection({ at, canChange }: { at: string | null; canChange: boolean }) {
  const hooks = usePages((cursor) => client().listWebhooks({ cursor, limit: 20 }), []);
  const [open, setOpen] = useState<string | null>(null);
  const rows = hooks.items.filter((h) => before(h.created_at, at));
  return (
    <>
      <ApiError error={hooks.status === 'error' ? hooks.error : null} />
      {rows.map((h) => (
        <article key={h.id} className="webhook" aria-labelledby={`wh-${h.id}`}>
          <h3 id={`wh-${h.id}`}>{h.url}</h3>
          <p>
            {h.active ? 'active' : 'paused'} · events: {h.events.length ? h.events.join(', ') : 'all'}
            {h.description ? ` · ${h.description}` : ''} · created <time dateTime={h.created_at}>{formatUtc(h.created_at)}</time> by {h.created_by}
          </p>
          <button type="button" aria-expanded={open === h.id} onClick={() => setOpen(open === h.id ? null : h.id)}>
            {open === h.id ? 'Hide' : 'Show'} delivery log of {h.url}
          </button>
          {open === h.id ? <DeliveryLog hook={h} at={at} canChange={canChange} /> : null}
        </article>
      ))}
      {hooks.status === 'ok' && rows.length === 0 ? <p>No webhooks.</p> : null}
      <LoadMore pages={hooks} what="webhooks" />
    </>
  );
}
