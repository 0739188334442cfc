import { useState } from 'react';
import { Link } from 'wouter';
import { PROMOTION_STATES, type Promotion } from '@berth/core';
import { client } from '../../api';
import { withAt } from '../../at';
import { ApiError } from '../common/ApiError';
import { GateReportTable } from '../common/GateReportTable';
import { modelPath, versionPath } from '../../paths';
import { promotionAt } from './promotion-at';
import { usePages } from '../../use-pages';
import { LoadMore } from '../common/LoadMore';
import { formatUtc } from '../time/time';

/** Every promotion and rollback, newest first, by state, a page at a time; passed ones offer their rollback. */
export function PromotionHistory({
  at,
  refresh,
  onRollback,
}: {
  at: string | null;
  refresh: number;
  /** Set when the signed-in role may roll back: prefills the rollback form. */
  onRollback: ((model: string, alias: string) => void) | null;
}) {
  const [state, setState] = useState('');
  // As of a past time the state then is worked out here, so the server is asked for every state.
  const list = usePages((cursor) => client().listAllPromotions({ state: at || !state ? undefined : state, cursor, limit: 25 }), [state, at], refresh);
  const rows = list.items.map((p) => promotionAt(p, at)).filter((p): p is Promotion => p !== undefined && (!state || p.state === state));

  return (
    <>
      <label htmlFor="history-state">State</label>{' '}
      <select id="history-state" value={state} onChange={(e) => setState(e.target.value)}>
        <option value="">any</option>
        {PROMOTION_STATES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <ApiError error={list.status === 'error' ? list.error : null} />
      <table className="history">
        <caption>Promotions and rollbacks, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Requested</th>
            <th scope="col">Version</th>
            <th scope="col">Alias</th>
            <th scope="col">Kind</th>
            <th scope="col">State</th>
            <th scope="col">Policy</th>
            <th scope="col">By</th>
            <th scope="col">Reason</th>
            <th scope="col">Gate report</th>
            {onRollback ? <th scope="col">Action</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.id}>
              <td>
                <time dateTime={p.created_at}>{formatUtc(p.created_at)}</time>
              </td>
              <th scope="row">
                <Link href={withAt(modelPath(p.model), at)}>{p.model}</Link>:<Link href={withAt(versionPath(p.model, p.version), at)}>{p.version}</Link>
              </th>
              <td>
                @{p.alias}
                {p.previous_version !== null ? ` (was ${p.previous_version})` : ''}
              </td>
              <td>{p.kind}</td>
              <td className={`state-${p.state}`}>{p.state}</td>
              <td>{p.policy ? `${p.policy.name} v${p.policy.version}` : '—'}</td>
              <td>{p.requested_by}</td>
              <td>{p.reason ?? ''}</td>
              <td>
                {p.report ? (
                  <details>
                    <summary>{p.report.passed ? 'passed' : 'failed'}</summary>
                    <GateReportTable report={p.report} caption={`Gates of ${p.model}:${p.version} → @${p.alias}`} />
                  </details>
                ) : (
                  '—'
                )}
              </td>
              {onRollback ? (
                <td>
                  {p.state === 'passed' ? (
                    <button type="button" onClick={() => onRollback(p.model, p.alias)}>
                      Roll back {p.model}@{p.alias}…
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      {list.status === 'ok' && rows.length === 0 ? <p>No promotions{state ? ` in state ${state}` : ''}.</p> : null}
      <LoadMore pages={list} what="promotions" />
    </>
  );
}
