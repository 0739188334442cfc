import { useEffect, useRef, useState } from 'react';
import type { Promotion } from '@berth/core';
import { client } from '../api';
import { useAt } from '../at';
import { liveText, useLiveEvents } from '../live';
import { topRole, whyNot } from '../components/auth/roles';
import { useWhoami } from '../components/auth/use-whoami';
import { ApiError } from '../components/common/ApiError';
import { AtBanner } from '../components/time/AtBanner';
import { PendingPromotion } from '../components/promotions/PendingPromotion';
import { PromotionHistory } from '../components/promotions/PromotionHistory';
import { promotionAt } from '../components/promotions/promotion-at';
import { type RollbackTarget, RollbackForm } from '../components/promotions/RollbackForm';
import { LoadMore } from '../components/common/LoadMore';
import { usePages } from '../use-pages';

const LIVE_TYPES = ['promotion.*'];

/**
 * A seq the registry had reached before the page's first read: the audit event of the newest
 * promotion's latest change (0 when there is none). Following the stream from it replays only
 * the promotion events since, not the registry's whole history; any lower seq would be as right.
 */
async function promotionsHead(): Promise<number> {
  const [newest] = (await client().listAllPromotions({ limit: 1 })).items;
  if (!newest) return 0;
  const since = new Date(Date.parse(newest.decided_at ?? newest.created_at) - 1).toISOString();
  const trail = await client().listAudit({ model: newest.model, since, limit: 100 });
  return trail.items.reduce((m, e) => Math.max(m, e.seq), 0);
}

/** Pending approvals across models, their gate reports, approve / reject, rollback, and the history (DESIGN §2 "promotions"). */
export function PromotionsPage() {
  const at = useAt();
  const who = useWhoami();
  const me = who.status === 'ok' ? who.me : null;
  const [refresh, setRefresh] = useState(0);
  const [status, setStatus] = useState('');
  const [target, setTarget] = useState<RollbackTarget | null>(null);
  // While the page shows now it follows promotion events: a new pending promotion appears, a
  // decided one leaves. The stream starts from a seq read before the first list, so nothing
  // between them is missed, and stays open across re-reads; a burst of events is one re-read.
  const [head, setHead] = useState<number | null>(null);
  // As of a past time, "pending then" includes promotions decided since, so every state is read.
  const pending = usePages(
    async (cursor) => {
      if (!at && !cursor && head === null) {
        // A token that may not read this trail follows from the start instead (still correct, only longer).
        const seq = await promotionsHead().catch(() => 0);
        setHead((h) => h ?? seq);
      }
      return client().listAllPromotions({ state: at ? undefined : 'pending', cursor, limit: 20 });
    },
    [at],
    refresh,
  );
  const settle = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => clearTimeout(settle.current ?? undefined), []);
  const live = useLiveEvents(!at && head !== null && pending.status !== 'error' ? { after: head, types: LIVE_TYPES } : null, () => {
    clearTimeout(settle.current ?? undefined);
    settle.current = setTimeout(() => setRefresh((r) => r + 1), 150);
  });
  const shown = pending.items.map((p) => promotionAt(p, at)).filter((p): p is Promotion => p?.state === 'pending');
  const rollbackBlocked = me ? whyNot(me, 'approver', 'Rolling back an alias') : 'Checking what your token may do…';

  const changed = (message: string) => {
    setStatus(message);
    setRefresh((r) => r + 1);
  };

  return (
    <>
      <h1>Promotions</h1>
      {at ? <AtBanner at={at} note="Promotions are shown as they stood then; nothing can be approved or rolled back from here." /> : null}
      {me && !at && whyNot(me, 'approver', 'Approving') ? (
        <p className="note">
          You are signed in as {me.name} ({topRole(me)}): you can see promotions and their gate reports, but approving, rejecting and rolling back need the
          approver role.
        </p>
      ) : null}
      <p className="status" aria-live="polite">
        {status}
      </p>
      {at ? null : (
        <p className={`live live-${live.status}`} aria-live="polite">
          {liveText(live)}
        </p>
      )}

      <section aria-labelledby="pending-heading">
        <h2 id="pending-heading">Pending approvals</h2>
        <ApiError error={pending.status === 'error' ? pending.error : null} />
        {shown.map((p) => (
          <PendingPromotion key={p.id} p={p} me={me} at={at} onDecided={changed} />
        ))}
        {pending.status === 'ok' && shown.length === 0 ? <p>No promotion awaits approval.</p> : null}
        <LoadMore pages={pending} what="pending" />
      </section>

      {at ? null : (
        <section aria-labelledby="rollback-heading">
          <h2 id="rollback-heading">Roll back an alias</h2>
          <p>Moves the alias back to the version it held before its current one, audited with your reason.</p>
          {rollbackBlocked ? <p className="note">{rollbackBlocked}</p> : <RollbackForm target={target} onDone={changed} />}
        </section>
      )}

      <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        <PromotionHistory
          at={at}
          refresh={refresh}
          onRollback={at || rollbackBlocked ? null : (model, alias) => setTarget((t) => ({ model, alias, nonce: (t?.nonce ?? 0) + 1 }))}
        />
      </section>
    </>
  );
}
