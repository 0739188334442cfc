import { useCallback, useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import type { Deployment } from '@berth/core';
import { client } from '../api';
import { useAt } from '../at';
import { liveText, useLiveEvents } from '../live';
import { useQuery } from '../use-query';
import { DeploymentCard } from '../components/deployments/DeploymentCard';

const PAGE = 20;
/** What may change a deployment's split or rollout: its own events, and alias moves (the split follows aliases). */
const LIVE_TYPES = ['deployment.*', 'alias.*'];
/** With no deployment yet, only the first apply changes the page. */
const EMPTY_TYPES = ['deployment.applied'];
/** Events come in bursts (a promotion moves an alias and starts a rollout): one reload per burst. */
const SETTLE_MS = 150;

interface ListState {
  items: Deployment[];
  next: string | null;
  /** The event seq the page's reads start after: following events from it misses nothing. */
  seq: number;
}

async function firstPage(): Promise<ListState> {
  const page = await client().listDeployments({ limit: PAGE });
  // The routing snapshot is the one read that names the event head it was taken at; reading it
  // before the cards read their status means any change in between arrives as an event.
  const first = page.items[0];
  const seq = first ? (await client().deploymentRouting(first.name)).seq : 0;
  return { items: page.items, next: page.next_cursor, seq };
}

/** `/deployments`: every deployment's split, what it served, its rollout and charts, live (DESIGN §7). */
export function DeploymentsPage() {
  const at = useAt();
  const [tick, setTick] = useState(0);
  const [more, setMore] = useState<{ items: Deployment[]; next: string | null }>({ items: [], next: null });
  const [moreError, setMoreError] = useState<string | null>(null);
  const list = useQuery(firstPage, [at]);
  const { reload } = list;

  const settle = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onEvent = useCallback(() => {
    if (settle.current) return;
    settle.current = setTimeout(() => {
      settle.current = null;
      setTick((t) => t + 1);
    }, SETTLE_MS);
  }, []);
  useEffect(() => () => void (settle.current && clearTimeout(settle.current)), []);
  // The list itself changes on apply and delete; re-read it (not the pages loaded with "Load more").
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload is new each render; tick says when
  useEffect(() => {
    if (tick > 0) reload();
  }, [tick]);

  // The stream starts after the first read's seq and stays open across reloads (a reload's reads
  // are newer than events already followed, so reopening would only risk a gap). With no
  // deployment there is no snapshot to name the event head: follow only applies from the start
  // (few: one per deployment version ever), not every alias move in the registry's history, and
  // start over from the first deployment's snapshot once there is one.
  const [seq, setSeq] = useState<{ at: string | null; seq: number; empty: boolean } | null>(null);
  const first = list.status === 'ok' ? list.data : null;
  useEffect(() => {
    if (!first) return;
    const empty = first.items.length === 0;
    setSeq((s) => (s && s.at === at && s.empty === empty ? s : { at, seq: first.seq, empty }));
  }, [first, at]);
  const live = useLiveEvents(at === null && seq !== null && seq.at === null ? { after: seq.seq, types: seq.empty ? EMPTY_TYPES : LIVE_TYPES } : null, onEvent);

  const firstItems = list.status === 'ok' ? list.data.items : [];
  const shown = [...firstItems, ...more.items.filter((d) => !firstItems.some((f) => f.name === d.name))];
  const next = more.items.length > 0 ? more.next : list.status === 'ok' ? list.data.next : null;

  async function loadMore() {
    if (!next) return;
    setMoreError(null);
    try {
      const page = await client().listDeployments({ cursor: next, limit: PAGE });
      setMore((m) => ({ items: [...m.items, ...page.items], next: page.next_cursor }));
    } catch (err) {
      setMoreError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <>
      <h1>Deployments</h1>
      {at && (
        <p className="at-banner" role="status">
          Viewing the registry as of {at} — <Link href="/deployments">back to now</Link>
        </p>
      )}
      <p className={`live live-${live.status}`} aria-live="polite">
        {liveText(live)}
      </p>
      {list.status === 'loading' && <p aria-live="polite">Loading deployments…</p>}
      {list.status === 'error' && (
        <p role="alert" className="error">
          {list.error.message}
        </p>
      )}
      {list.status === 'ok' && shown.length === 0 && (
        <p>
          No deployments yet. Apply one with <code>berth deploy apply deployment.yaml</code>.
        </p>
      )}
      {shown.map((d) => (
        <DeploymentCard key={d.name} deployment={d} at={at} tick={tick} />
      ))}
      {next && (
        <button type="button" onClick={loadMore}>
          Load more deployments
        </button>
      )}
      {moreError && (
        <p role="alert" className="error">
          {moreError}
        </p>
      )}
    </>
  );
}
