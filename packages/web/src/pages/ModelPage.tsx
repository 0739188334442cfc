import { Suspense, lazy, useMemo } from 'react';
import { Link, useLocation, useParams, useSearch } from 'wouter';
import { client } from '../api';
import { useAt, withAt } from '../at';
import { versionPath } from '../paths';
import { LoadMore } from '../components/common/LoadMore';
import { useQuery } from '../use-query';
import { AtBanner } from '../components/time/AtBanner';
import { MetricPicker } from '../components/model/MetricPicker';
import { VersionsTable, useVersionPages } from '../components/model/VersionsTable';
import { metricNames, parseList, parseVersions } from '../components/model/compare';

// The card (a YAML front-matter parser, then marked and DOMPurify) and the comparison (a line diff) load only when shown.
const ModelCard = lazy(() => import('../components/model/ModelCard').then((m) => ({ default: m.ModelCard })));
const CompareView = lazy(() => import('../components/model/CompareView').then((m) => ({ default: m.CompareView })));

interface ModelHead {
  kind: string | undefined;
  description: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  protected: string[];
  frozen: string[];
  versionCount: number | undefined;
  existed: boolean;
}

/** The model now (getModel), or as it was at `at` (modelAt: its last snapshot then and its aliases then). */
async function loadHead(name: string, at: string | null): Promise<ModelHead> {
  const c = client();
  if (at) {
    const then = await c.modelAt(name, at);
    const m = then.model;
    return {
      kind: m?.kind,
      description: m?.description ?? '',
      tags: m?.tags ?? {},
      aliases: then.aliases,
      protected: [],
      frozen: [],
      versionCount: undefined,
      existed: m !== null,
    };
  }
  const m = await c.getModel(name);
  return {
    kind: m.kind,
    description: m.description,
    tags: m.tags,
    aliases: m.aliases,
    protected: m.protected_aliases,
    frozen: m.frozen_aliases,
    versionCount: m.version_count,
    existed: true,
  };
}

/** `/models/:name`: the model, its aliases, its versions a page at a time with the metric columns picked, a comparison, its card. */
export function ModelPage() {
  const params = useParams<{ name: string }>();
  const name = decodeURIComponent(params.name ?? '');
  const at = useAt();
  const search = useSearch();
  const [path, navigate] = useLocation();
  const query = new URLSearchParams(search);
  const picked = parseList(query.get('metrics'));
  const compare = parseVersions(query.get('compare'));
  const selected = parseVersions(query.get('select'));

  const head = useQuery(() => loadHead(name, at), [name, at]);
  const pages = useVersionPages(name, at);
  const rows = pages.items;
  const names = useMemo(() => metricNames(rows.map((r) => r.metrics)), [rows]);
  const aliasesByVersion = useMemo(() => {
    const map = new Map<number, string[]>();
    if (head.status === 'ok') for (const [a, v] of Object.entries(head.data.aliases).sort()) map.set(v, [...(map.get(v) ?? []), a]);
    return map;
  }, [head]);

  // The picked columns and the comparison live in the URL, so a shared link shows the same table.
  const setParam = (key: string, values: readonly (string | number)[]) => {
    const next = new URLSearchParams(search);
    if (values.length) next.set(key, values.join(','));
    else next.delete(key);
    const qs = next.toString();
    navigate(qs ? `${path}?${qs}` : path, { replace: true });
  };
  const select = (version: number, on: boolean) => setParam('select', on ? [...selected, version] : selected.filter((v) => v !== version));

  return (
    <div className="model-page">
      {at ? <AtBanner at={at} /> : null}
      <p className="crumbs">
        <Link href={withAt('/', at)}>Catalog</Link> / {name}
      </p>
      <h1>{name}</h1>
      {head.status === 'error' ? (
        <p className="error" role="alert">
          {head.error.message}
        </p>
      ) : null}
      {head.status === 'ok' && !head.data.existed ? <p role="status">This model did not exist at {at}.</p> : null}
      {head.status === 'ok' && head.data.existed ? (
        <section aria-label="About the model" className="model-head">
          <p>
            {head.data.kind ? <span className="badge kind">{head.data.kind}</span> : null} {head.data.description}
            {head.data.versionCount !== undefined ? <span className="muted"> · {head.data.versionCount} versions</span> : null}
          </p>
          <h2>Aliases</h2>
          {Object.keys(head.data.aliases).length === 0 ? (
            <p className="muted">No aliases{at ? ' at that time' : ''}.</p>
          ) : (
            <ul className="alias-list">
              {Object.entries(head.data.aliases)
                .sort()
                .map(([alias, version]) => (
                  <li key={alias}>
                    <span className="badge alias">@{alias}</span> → <Link href={withAt(versionPath(name, version), at)}>version {version}</Link>
                    {head.data.protected.includes(alias) ? <span className="muted"> (protected)</span> : null}
                    {head.data.frozen.includes(alias) ? <span className="muted"> (frozen)</span> : null}
                  </li>
                ))}
            </ul>
          )}
          {Object.keys(head.data.tags).length ? (
            <p>
              {Object.entries(head.data.tags).map(([k, v]) => (
                <span className="badge tag" key={k}>
                  {k}={v}
                </span>
              ))}
            </p>
          ) : null}
        </section>
      ) : null}

      {compare.length >= 2 ? (
        <Suspense fallback={<p aria-live="polite">Loading the comparison…</p>}>
          <CompareView name={name} versions={compare} at={at} onClose={() => setParam('compare', [])} />
        </Suspense>
      ) : null}

      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions</h2>
        <MetricPicker names={names} picked={picked} onChange={(next) => setParam('metrics', next)} />
        <p>
          <button type="button" disabled={selected.length < 2} onClick={() => setParam('compare', selected)}>
            Compare selected ({selected.length})
          </button>{' '}
          {selected.length < 2 ? <span className="muted">Tick two or more versions to compare them.</span> : null}
        </p>
        {pages.status === 'error' ? (
          <p className="error" role="alert">
            {pages.error?.message}
          </p>
        ) : null}
        {pages.status === 'loading' ? <p aria-live="polite">Loading versions…</p> : null}
        {pages.status === 'ok' && rows.length === 0 ? <p>No versions{at ? ' at that time' : ' yet'}.</p> : null}
        {rows.length ? (
          <VersionsTable
            name={name}
            at={at}
            rows={rows}
            aliasesOf={(v) => aliasesByVersion.get(v) ?? []}
            metricColumns={picked}
            selected={selected}
            onSelect={select}
          />
        ) : null}
        <p aria-live="polite" className="muted">
          {rows.length ? `Showing ${rows.length} version${rows.length === 1 ? '' : 's'}${pages.hasMore ? '' : ', all there are'}.` : ''}
        </p>
        <LoadMore pages={pages} what="versions" />
      </section>

      {rows[0] ? (
        <Suspense fallback={<p aria-live="polite">Loading the card…</p>}>
          <ModelCard model={name} version={rows[0].version.version} />
        </Suspense>
      ) : null}
    </div>
  );
}
