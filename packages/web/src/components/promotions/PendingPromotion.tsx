import { useState } from 'react';
import { Link } from 'wouter';
import type { Promotion, WhoAmI } from '@berth/core';
import { client } from '../../api';
import { withAt } from '../../at';
import { whyNot } from '../auth/roles';
import { GateReportTable } from '../common/GateReportTable';
import { modelPath, versionPath } from '../../paths';
import { formatUtc } from '../time/time';
import { ApiError } from '../common/ApiError';
import { useAction } from '../../use-action';

/** One promotion awaiting approvals: its evidence, and approve / reject with a reason when the signed-in role allows. */
export function PendingPromotion({ p, me, at, onDecided }: { p: Promotion; me: WhoAmI | null; at: string | null; onDecided(message: string): void }) {
  const [reason, setReason] = useState('');
  const action = useAction();
  const title = `${p.model}:${p.version} → @${p.alias}`;
  const blocked = me ? whyNot(me, 'approver', 'Approving or rejecting', p.model) : null;

  function decide(op: 'approve' | 'reject') {
    return action.run(async () => {
      const why = reason.trim() || undefined;
      const out = op === 'approve' ? await client().approvePromotion(p.id, why) : await client().rejectPromotion(p.id, why);
      setReason('');
      onDecided(
        op === 'reject'
          ? `Rejected ${title}.`
          : out.state === 'passed'
            ? `Approved ${title}: ${p.model}@${p.alias} now points to version ${out.version}.`
            : `Approved ${title} (${out.approvals.length} of ${out.required_approvals} approvals).`,
      );
    });
  }

  return (
    <article className="pending" aria-labelledby={`h-${p.id}`}>
      <h3 id={`h-${p.id}`}>
        <Link href={withAt(versionPath(p.model, p.version), at)}>
          {p.model}:{p.version}
        </Link>{' '}
        → @{p.alias}
      </h3>
      <dl className="facts">
        <dt>Model</dt>
        <dd>
          <Link href={withAt(modelPath(p.model), at)}>{p.model}</Link>
        </dd>
        <dt>Replaces</dt>
        <dd>{p.previous_version === null ? `nothing (@${p.alias} is not set)` : `version ${p.previous_version}`}</dd>
        <dt>Policy</dt>
        <dd>{p.policy ? `${p.policy.name} v${p.policy.version}` : '—'}</dd>
        <dt>Requested</dt>
        <dd>
          by {p.requested_by} at <time dateTime={p.created_at}>{formatUtc(p.created_at)}</time>
          {p.reason ? ` — ${p.reason}` : ''}
        </dd>
        <dt>Approvals</dt>
        <dd>
          {p.approvals.length} of {p.required_approvals}
          {p.approvals.length ? ` (${p.approvals.map((a) => `${a.by}${a.reason ? `: ${a.reason}` : ''}`).join('; ')})` : ''}
        </dd>
      </dl>
      {p.report ? <GateReportTable report={p.report} caption={`Gate report of ${title}`} /> : null}
      {at ? null : blocked ? (
        <p className="note">{blocked}</p>
      ) : (
        <form
          className="decide"
          onSubmit={(e) => {
            e.preventDefault();
            void decide('approve');
          }}
        >
          <label htmlFor={`reason-${p.id}`}>Reason for {title}</label>
          <input id={`reason-${p.id}`} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={1000} />
          <button type="submit" disabled={action.busy}>
            Approve
          </button>
          <button type="button" disabled={action.busy} onClick={() => void decide('reject')}>
            Reject
          </button>
        </form>
      )}
      <ApiError error={action.error} />
    </article>
  );
}
