import { Link } from 'wouter';
import type { Version } from '@berth/core';
import { client } from '../../api';
import { withAt } from '../../at';
import { versionPath } from '../../paths';
import { editsAfter } from '../version/edits-after';
import { editableAt } from '../version/version-at';
import { type PageOf, usePages } from '../../use-pages';
import { display } from './compare';

/** Versions a page of the table holds: one listVersions and one latestMetrics request each, never the whole model. */
export const PAGE_SIZE = 50;

export interface VersionRow {
  version: Version;
  metrics: Readonly<Record<string, number>>;
}

async function loadPage(name: string, at: string | null, cursor: string | undefined): Promise<PageOf<VersionRow>> {
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
  // At a past time, each version's description, metadata, tags and stage then (as the version page reads them).
  const edits = at
    ? await editsAfter(
        name,
        at,
        page.items.map((v) => `${name}:${v.version}`),
      )
    : [];
  const asThen = (v: Version): Version => (at ? { ...v, ...editableAt(v, `${name}:${v.version}`, edits) } : v);
  return { items: page.items.map((version) => ({ version: asThen(version), metrics: byVersion.get(version.version) ?? {} })), next_cursor: page.next_cursor };
}

/** The versions table's rows a page at a time: the first page on load, the next on "Load more". */
export function useVersionPages(name: string, at: string | null) {
  return usePages<VersionRow>((cursor) => loadPage(name, at, cursor), [name, at]);
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
              <Link href={withAt(versionPath(name, v.version), at)}>{v.version}</Link>
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
