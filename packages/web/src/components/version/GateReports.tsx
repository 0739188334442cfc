import type { Promotion } from '@berth/core';
import { client } from '../../api';
import { GateReportTable } from '../common/GateReportTable';
import { LoadMore } from '../common/LoadMore';
import { usePages } from '../../use-pages';
import { formatUtc } from '../time/time';
import { existedAt, promotionStateAt } from './version-at';

/** How many of the model's promotions one page reads; those of other versions are left out. */
const PROMOTIONS_PAGE = 100;

function Report({ p, at }: { p: Promotion; at: string | null }) {
  const state = promotionStateAt(p, at);
  return (
    <article className="gate-report">
      <h3>
        {p.kind === 'rollback' ? 'Rollback' : 'Promotion'} to @{p.alias}: <span className={`state state-${state}`}>{state}</span>
      </h3>
      <p>
        Requested by {p.requested_by} at <time dateTime={p.created_at}>{formatUtc(p.created_at)}</time>
        {p.policy && (
          <>
            {' '}
            under policy <code>{p.policy.name}</code> v{p.policy.version}
          </>
        )}
        {p.previous_version !== null && <> (replacing version {p.previous_version})</>}
        {p.reason && <>: “{p.reason}”</>}
      </p>
      {p.report ? <GateReportTable report={p.report} caption={`Gates of ${p.model}:${p.version} → @${p.alias}`} /> : <p>No gate report (no policy applied).</p>}
    </article>
  );
}

/** Every promotion and rollback that named this version, with the gate report the server stored. */
export function GateReports({ name, version, at }: { name: string; version: number; at: string | null }) {
  const pages = usePages<Promotion>(
    async (cursor) => {
      const page = await client().listPromotions(name, { limit: PROMOTIONS_PAGE, ...(cursor ? { cursor } : {}) });
      return { ...page, items: page.items.filter((p) => p.version === version && existedAt(p.created_at, at)) };
    },
    [name, version, at],
  );
  return (
    <section aria-labelledby="gate-reports">
      <h2 id="gate-reports">Gate reports</h2>
      {pages.status === 'error' && <p className="error">{pages.error?.message}</p>}
      {pages.status === 'ok' && pages.items.length === 0 && !pages.hasMore && <p>No promotions of this version.</p>}
      {pages.items.map((p) => (
        <Report key={p.id} p={p} at={at} />
      ))}
      <LoadMore pages={pages} what="promotions" />
    </section>
  );
}
