import { Suspense, lazy, useEffect, useId } from 'react';
import { Link } from 'wouter';
import type { Deployment, DeploymentStatus, Rollout, ServedAt, ServedReport } from '@berth/core';
import { client } from '../../api';
import { withAt } from '../../at';
import { modelPath } from '../../paths';
import { useQuery } from '../../use-query';
import { formatUtc } from '../time/time';
import { evidenceSummary, seriesOf, splitNow, splitServed, versionStats, type SplitRow } from './served-stats';

// uPlot and its stylesheet load only when a deployment's charts are first shown.
const ServedCharts = lazy(() => import('./ServedCharts'));

/** How far back the charts look. */
const CHART_WINDOW_MS = 15 * 60_000;
/** Reports per chart load (a page of the history, newest first): at 1 report a second from 2 gateways, 4 minutes of it. */
const CHART_REPORTS = 500;
/** Served figures change with every report and are not events: they are read again this often while the page shows now. */
const REFRESH_MS = 5000;

interface Now {
  kind: 'now';
  status: DeploymentStatus;
  reports: ServedReport[];
}
interface Then {
  kind: 'then';
  /** The document in force at `at`, or null if the deployment did not exist yet. */
  deployment: Deployment | null;
  served: ServedAt;
  reports: ServedReport[];
  /** The rollout as it stood then (from the events of its decisions), or null. */
  rollout: Rollout | null;
}

/** The deployment version that was the latest at `at`: versions are few, so walk back from the newest. */
async function deploymentAt(name: string, at: string, latest: Deployment): Promise<Deployment | null> {
  const t = Date.parse(at);
  for (let d: Deployment | null = latest; d; d = d.version > 1 ? await client().getDeployment(name, { version: d.version - 1 }) : null) {
    if (Date.parse(d.created_at) <= t) return d;
  }
  return null;
}

async function recentReports(name: string, until: string | null): Promise<ServedReport[]> {
  const end = until ? Date.parse(until) : Date.now();
  const page = await client().listDeploymentReports(name, {
    since: new Date(end - CHART_WINDOW_MS).toISOString(),
    ...(until ? { until } : {}),
    limit: CHART_REPORTS,
  });
  return page.items;
}

const pct = (x: number) => `${Number(x.toFixed(1))}%`;
const ms = (x: number | null) => (x === null ? '—' : `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`);

/** One deployment: its split, what it served, its rollout and charts; `tick` changes when a live event says it may have changed. */
export function DeploymentCard({ deployment, at, tick }: { deployment: Deployment; at: string | null; tick: number }) {
  const headingId = useId();
  const name = deployment.name;
  const state = useQuery<Now | Then>(async () => {
    if (at) {
      const [then, served, reports, past] = await Promise.all([
        deploymentAt(name, at, deployment),
        client().servedAt(name, at),
        recentReports(name, at),
        client().rolloutAt(name, at),
      ]);
      return { kind: 'then', deployment: then, served, reports, rollout: past.rollout };
    }
    const [status, reports] = await Promise.all([client().deploymentStatus(name), recentReports(name, null)]);
    return { kind: 'now', status, reports };
  }, [name, at, tick, deployment.version]);
  const { reload } = state;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload changes every render; the timer follows the time shown
  useEffect(() => {
    if (at) return;
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [at]);

  const doc = deployment.document;
  return (
    <section className="deployment" aria-labelledby={headingId}>
      <h2 id={headingId}>{name}</h2>
      <p className="deployment-meta">
        Model <Link href={withAt(modelPath(deployment.model), at)}>{deployment.model}</Link> · strategy <strong>{doc.strategy}</strong> · stable{' '}
        <code>@{doc.stable}</code>
        {doc.candidate ? (
          <>
            {' '}
            · candidate <code>@{doc.candidate}</code>
          </>
        ) : null}{' '}
        · document version {state.status === 'ok' && state.data.kind === 'then' ? (state.data.deployment?.version ?? '—') : deployment.version}
      </p>
      {state.status === 'loading' && <p aria-live="polite">Loading…</p>}
      {state.status === 'error' && (
        <p role="alert" className="error">
          {state.error.message}
        </p>
      )}
      {state.status === 'ok' && state.data.kind === 'then' && state.data.deployment === null && <p>This deployment did not exist yet at that time.</p>}
      {state.status === 'ok' && <Body data={state.data} at={at} />}
    </section>
  );
}

function Body({ data, at }: { data: Now | Then; at: string | null }) {
  const split = data.kind === 'now' ? splitNow(data.status.deployment.document, data.status.aliases, data.status.rollout) : splitServed(data.served);
  const served = versionStats(data.kind === 'now' ? data.status.reports : data.served.reports);
  const series = seriesOf(data.reports);
  return (
    <>
      <div className="deployment-grid">
        <SplitTable rows={split} past={data.kind === 'then'} />
        {data.kind === 'now' ? (
          <RolloutView rollout={data.status.rollout} steps={data.status.deployment.document.steps.length} />
        ) : (
          <PastRollout at={at} rollout={data.rollout} steps={data.deployment?.document.steps.length ?? 0} />
        )}
      </div>
      <table>
        <caption>
          {data.kind === 'now'
            ? `Served: the latest report of each gateway heard from in the last minute (${data.status.reports.length} gateway${data.status.reports.length === 1 ? '' : 's'})`
            : `Served at that time: the reports whose window held it (${data.served.reports.length})`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Requests</th>
            <th scope="col">Errors</th>
            <th scope="col">Error rate</th>
            <th scope="col">p50 latency</th>
            <th scope="col">p99 latency</th>
            <th scope="col">Quality</th>
          </tr>
        </thead>
        <tbody>
          {served.length === 0 && (
            <tr>
              <td colSpan={7}>No gateway reported serving this deployment in that window.</td>
            </tr>
          )}
          {served.map((v) => (
            <tr key={v.label}>
              <th scope="row">{v.label}</th>
              <td>{v.requests}</td>
              <td>{v.errors}</td>
              <td>{v.errorRate === null ? '—' : pct(v.errorRate * 100)}</td>
              <td>{ms(v.p50)}</td>
              <td>{ms(v.p99)}</td>
              <td>{v.meanScore === null ? '—' : `${v.meanScore.toFixed(2)} (${v.judged} scored)`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{at ? 'The 15 minutes before then' : 'Over the last 15 minutes'}</h3>
      <Suspense fallback={<p>Loading charts…</p>}>
        <ServedCharts series={series} />
      </Suspense>
    </>
  );
}

function SplitTable({ rows, past }: { rows: SplitRow[]; past: boolean }) {
  return (
    <table className="split">
      <caption>{past ? 'Traffic split the gateways reported then' : 'Traffic split'}</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          {!past && <th scope="col">Aliases</th>}
          <th scope="col">Weight</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={past ? 2 : 3}>{past ? 'Nothing was being served.' : 'No version to route to: the stable alias is not set.'}</td>
          </tr>
        )}
        {rows.map((r) => (
          <tr key={`${r.version}${r.shadow}`}>
            <th scope="row">v{r.version}</th>
            {!past && <td>{r.aliases.map((a) => `@${a}`).join(' ')}</td>}
            <td>
              {r.shadow ? (
                'shadow copy'
              ) : (
                <>
                  <span className="bar" style={{ width: `${Math.min(100, r.weight)}%` }} aria-hidden="true" />
                  {pct(r.weight)}
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RolloutView({ rollout, steps }: { rollout: Rollout | null; steps: number }) {
  if (!rollout) return <p className="rollout">No rollout yet.</p>;
  const d = rollout.last_decision;
  return (
    <div className="rollout">
      <h3>Rollout</h3>
      <dl>
        <dt>Kind</dt>
        <dd>{rollout.kind}</dd>
        <dt>State</dt>
        <dd>{rollout.state}</dd>
        {rollout.kind === 'canary' && (
          <>
            <dt>Step</dt>
            <dd>
              {rollout.step + 1} of {steps}
            </dd>
          </>
        )}
        <dt>Candidate weight</dt>
        <dd>{rollout.weight}%</dd>
        <dt>Versions</dt>
        <dd>
          v{rollout.candidate_version} {rollout.stable_version !== null ? `replacing v${rollout.stable_version}` : ''}
        </dd>
        <dt>Started</dt>
        <dd>{formatUtc(rollout.started_at)}</dd>
      </dl>
      {d && (
        <>
          <h4>Last decision</h4>
          <p>
            <strong>{d.decision}</strong> by {d.gateway} at {formatUtc(d.at)}
            {d.reason ? `: ${d.reason}` : ''}
          </p>
          <ul className="evidence">
            {evidenceSummary(d.evidence).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** The rollout as it stood then, read from the event of the last decision before that time. */
function PastRollout({ at, rollout, steps }: { at: string | null; rollout: Rollout | null; steps: number }) {
  return (
    <>
      <RolloutView rollout={rollout} steps={steps} />
      <p className="rollout-note">
        As it stood then, after its last decision before that time; every decision is in the <Link href={withAt('/audit', at)}>audit trail</Link>.
      </p>
    </>
  );
}
