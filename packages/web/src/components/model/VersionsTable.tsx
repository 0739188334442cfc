import { useCallback, useEffect, useState } from 'react';
import { Link } from 'wouter';
import type { AuditEvent, Version } from '@berth/core';
import { client } from '../../api';
import { withAt } from '../../at';
import { editableAt } from '../version/version-at';
import { display } from './compare';

/** Versions a page of the table holds: one listVersions and one latestMetrics request each, never the whole model. */
export const PAGE_SIZE = 50;

export interface VersionRow {
  version: Version;
  metrics: Readonly<Record<string, number>>;
}

interface Loaded {
  rows: VersionRow[];
  cursor: string | null;
}

async function loadPage(name: string, at: string | null, cursor: string | undefined): Promise<Loaded> {
  const c = client();
  const page = await c.listVersions(name, { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}), ...(at ? { at } : {}) });
  const metrics = page.items.length
    ? await c.latestMetrics(
        name,
        page.items.map((v) => v.version),
        at ? { at } : {},
      )
    : [];
  const byVersion = new Map(metrics.map((m) => [m.version, m.metrics]));
  const edits = at ? await editsAfter(name, at, page.items) : [];
  const asThen = (v: Version): Version => (at ? { ...v, ...editableAt(v, `${name}:${v.version}`, edits) } : v);
  return { rows: page.items.map((version) => ({ version: asThen(version), metrics: byVersion.get(version.version) ?? {} })), cursor: page.next_cursor };
}

/**
 * At a past time T, what each version of the page looked like: the first `version.update` and
 * `version.stage` after T of each hold in their `before` its description, metadata, tags and
 * stage then (the same reading the version page makes). One paged audit read per action, for the
 * model, stopping as soon as every version of the page has its own.
 */
async function editsAfter(name: string, at: string, versions: readonly Version[]): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (const action of ['version.update', 'version.stage']) {
    const missing = new Set(versions.map((v) => `${name}:${v.version}`));
    let cursor: string | undefined;
    do {
      const page = await client().listAudit({ model: name, action, since: at, limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const e of page.items) if (missing.delete(e.subject)) out.push(e);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && missing.size > 0);
  }
  return out;
}

/**
 * The paged versions table: the first page on load, the next on "Load more"; the rows loaded
 * so far are reported up so the page can offer their metric names and their card.
 */
export function useVersionPages(name: string, at: string | null) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    setLoaded(null);
    setError(null);
    loadPage(name, at, undefined).then(
      (l) => live && setLoaded(l),
      (e: unknown) => live && setError(e instanceof Error ? e : new Error(String(e))),
    );
    return () => {
      live = false;
    };
  }, [name, at]);
  const more = useCallback(async () => {
    if (!loaded?.cursor) return;
    setBusy(true);
    try {
      const next = await loadPage(name, at, loaded.cursor);
      setLoaded({ rows: [...loaded.rows, ...next.rows], cursor: next.cursor });
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(false);
    }
  }, [name, at, loaded]);
  return { loaded, error, busy, more };
}

export function VersionsTable(props: {
  name: string;
  at: string | null;
  rows: readonly VersionRow[];
  aliasesOf: (version: number) => string[];
  metricColumns: readonly string[];
  selected: readonly number[];
  onSelect(version: number, on: boolean): void;
}) {
  const { name, at, rows, aliasesOf, metricColumns, selected, onSelect } = props;
  return (
    <table className="versions">
      <caption className="sr-only">Versions of {name}, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Compare</th>
          <th scope="col">Version</th>
          <th scope="col">Aliases</th>
          <th scope="col">Stage</th>
          <th scope="col">Status</th>
          <th scope="col">Created</th>
          {metricColumns.map((m) => (
            <th scope="col" key={m} className="num">
              {m}
            </th>
          ))}
          <th scope="col">Description</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ version: v, metrics }) => (
          <tr key={v.version}>
            <td>
              <label>
                <input type="checkbox" checked={selected.includes(v.version)} onChange={(e) => onSelect(v.version, e.currentTarget.checked)} />
                <span className="sr-only">Compare version {v.version}</span>
              </label>
            </td>
            <th scope="row">
              <Link href={withAt(`/models/${encodeURIComponent(name)}/versions/${v.version}`, at)}>{v.version}</Link>
            </th>
            <td>
              {aliasesOf(v.version).map((a) => (
                <span className="badge alias" key={a}>
                  @{a}
                </span>
              ))}
            </td>
            <td>{v.stage === 'None' ? '' : <span className={`badge stage stage-${v.stage.toLowerCase()}`}>{v.stage}</span>}</td>
            <td>{v.status === 'READY' ? 'ready' : v.status.toLowerCase().replace('_', ' ')}</td>
            <td>
              <time dateTime={v.created_at}>{v.created_at.slice(0, 16).replace('T', ' ')}</time>
            </td>
            {metricColumns.map((m) => (
              <td key={m} className="num">
                {display(metrics[m])}
              </td>
            ))}
            <td>{v.description}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
