import type { LineageEntry, Run } from '@berth/core';
import { Link } from 'wouter';
import { client } from '../../api';
import { withAt } from '../../at';
import { versionPath } from '../../paths';
import { useQuery } from '../../use-query';
import { LoadMore } from '../common/LoadMore';
import { usePages } from '../../use-pages';
import { existedAt } from './version-at';

/** Page size of "what uses this version": a base model may be pinned by thousands of adapters and bundles. */
const USED_BY_PAGE = 25;

function Pinned({ e, at }: { e: LineageEntry; at: string | null }) {
  return (
    <>
      <span className="kind">{e.kind}</span>{' '}
      <Link href={withAt(versionPath(e.model, e.version), at)}>
        {e.model}:{e.version}
      </Link>{' '}
      <code className="digest">{e.digest}</code>
    </>
  );
}

function RunNode({ runId }: { runId: string }) {
  const run = useQuery<Run>(() => client().getRun(runId), [runId]);
  return (
    <li>
      <span className="kind">run</span> <code>{runId}</code>
      {run.status === 'error' && <span className="error"> — {run.error.message}</span>}
      {run.status === 'ok' && (
        <>
          {' '}
          in experiment <code>{run.data.experiment}</code>
          {Object.keys(run.data.params).length > 0 && (
            <span className="params">
              {' '}
              (
              {Object.entries(run.data.params)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}
              )
            </span>
          )}
          {run.data.datasets.length > 0 && (
            <ul>
              {run.data.datasets.map((d) => (
                <li key={`${d.name}@${d.digest}`}>
                  <span className="kind">dataset</span> {d.name} <code className="digest">{d.digest}</code>
                  {d.source && <> from {d.source}</>}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </li>
  );
}

/**
 * The version's place in the lineage graph as a nested list, both directions: upstream what it
 * was made from and pins (its run and that run's datasets; base model, adapters, bundle
 * components), downstream what pins it. At `at`, only versions that existed then are listed.
 */
export function LineageGraph({ name, version, runId, at }: { name: string; version: number; runId: string | null; at: string | null }) {
  const uses = useQuery(() => client().lineage(name, version, 'uses', { limit: 1000 }), [name, version]);
  const usedBy = usePages<LineageEntry>(
    async (cursor) => {
      const page = await client().lineage(name, version, 'used-by', { limit: USED_BY_PAGE, ...(cursor ? { cursor } : {}) });
      if (!at) return page;
      // A lineage entry carries no time: what pins this version is listed at `at` only if it existed then.
      const versions = await Promise.all(page.items.map((e) => client().getVersion(e.model, e.version)));
      return { ...page, items: page.items.filter((_, i) => existedAt(versions[i]!.created_at, at)) };
    },
    [name, version, at],
  );
  return (
    <section aria-labelledby="lineage">
      <h2 id="lineage">Lineage</h2>
      <div className="lineage">
        <div>
          <h3>Made from and pins</h3>
          {uses.status === 'error' && <p className="error">{uses.error.message}</p>}
          {uses.status === 'ok' && !runId && uses.data.items.length === 0 ? (
            <p>No run, datasets or pinned versions recorded.</p>
          ) : (
            <ul className="tree">
              {runId && <RunNode runId={runId} />}
              {uses.status === 'ok' &&
                uses.data.items.map((e) => (
                  <li key={`${e.model}:${e.version}`}>
                    <Pinned e={e} at={at} />
                  </li>
                ))}
            </ul>
          )}
        </div>
        <div className="lineage-self" aria-hidden="true">
          → {name}:{version} →
        </div>
        <div>
          <h3>Used by</h3>
          {usedBy.status === 'error' && <p className="error">{usedBy.error?.message}</p>}
          {usedBy.status === 'ok' && usedBy.items.length === 0 && !usedBy.hasMore && <p>Nothing pins this version.</p>}
          <ul className="tree">
            {usedBy.items.map((e) => (
              <li key={`${e.model}:${e.version}`}>
                <Pinned e={e} at={at} />
              </li>
            ))}
          </ul>
          <LoadMore pages={usedBy} what="dependants" />
        </div>
      </div>
    </section>
  );
}
