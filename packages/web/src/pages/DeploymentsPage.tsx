import { useCallback, useEffect, useRef, useState } from 'react';
import type { Deployment, Page } from '@berth/core';
import { client } from '../api';
import { useAt } from '../at';
import { liveText, useLiveEvents } from '../live';
import { usePages } from '../use-pages';
import { ApiError } from '../components/common/ApiError';
import { LoadMore } from '../components/common/LoadMore';
import { AtBanner } from '../components/time/AtBanner';
import { DeploymentCard } from '../components/deployments/DeploymentCard';

const PAGE = 20;
/** What may change a deployment's split or rollout: its own events, and alias moves (the split follows aliases). */
const LIVE_TYPES = ['deployment.*', 'alias.*'];
/** With no deployment yet, only the first apply changes the page. */
const EMPTY_TYPES = ['deployment.applied'];
/** Events come in bursts (a promotion moves an alias and starts a rollout): one reload per burst. */
const SETTLE_MS = 150;

/** The first page, and the event seq its reads start after: following events from it misses nothing. */
async function firstPage(): Promise<{ page: Page<Deployment>; seq: number }> {
  const page = await client().listDeployments({ limit: PAGE });
  // The routing snapshot is the one read that names the event head it was taken at; reading it
  // before the cards read their status means any change in between arrives as an event.
  const first = page.items[0];
  const seq = first ? (await client().deploymentRouting(first.name)).seq : 0;
  return { page, seq };
}

/** `/deployments`: every deployment's split, what it served, its rollout and charts, live (DESIGN §7). */
export function DeploymentsPage() {
  const at = useAt();
  const [tick, setTick] = useState(0);
  // The seq of the newest first-page read, with the time and emptiness it was read for.
  const [head, setHead] = useState<{ at: string | null; seq: number; empty: boolean } | null>(null);
  // An event re-reads the list from its first page (a deployment applied or deleted changes it).
  const list = usePages<Deployment>(
    async (cursor) => {
      if (cursor) return client().listDeployments({ cursor, limit: PAGE });
      const { page, seq } = await firstPage();
      const empty = page.items.length === 0;
      setHead((h) => (h && h.at === at && h.empty === empty ? h : { at, seq, empty }));
      return page;
    },
    [at],
    tick,
  );

  const settle = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onEvent = useCallback(() => {
    if (settle.current) return;
    settle.current = setTimeout(() => {
      settle.current = null;
      setTick((t) => t + 1);
    }, SETTLE_MS);
  }, []);
  useEffect(() => () => void (settle.current && clearTimeout(settle.current)), []);

  // The stream starts after the first read's seq and stays open across re-reads (a re-read is
  // newer than events already followed, so reopening would only risk a gap). With no deployment
  // there is no snapshot to name the event head: follow only applies from the start (few: one
  // per deployment version ever), not every alias move in the registry's history, and start
  // over from the first deployment's snapshot once there is one.
  const live = useLiveEvents(
    at === null && head !== null && head.at === null ? { after: head.seq, types: head.empty ? EMPTY_TYPES : LIVE_TYPES } : null,
    onEvent,
  );

  return (
    <>
      <h1>Deployments</h1>
      <AtBanner at={at} />
      <p className={`live live-${live.status}`} aria-live="polite">
        {liveText(live)}
      </p>
      {list.status === 'loading' && <p aria-live="polite">Loading deployments…</p>}
      {list.status === 'error' && <ApiError error={list.error} />}
      {list.status === 'ok' && list.items.length === 0 && (
        <p>
          No deployments yet. Apply one with <code>berth deploy apply deployment.yaml</code>.
        </p>
      )}
      {list.items.map((d) => (
        <DeploymentCard key={d.name} deployment={d} at={at} tick={tick} />
      ))}
      <LoadMore pages={list} what="deployments" />
    </>
  );
}
