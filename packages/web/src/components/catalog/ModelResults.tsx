import { Link } from 'wouter';
import type { CatalogEntryAt, Model } from '@berth/core';
import { withAt } from '../../at';
import { AliasBadges, KindBadge } from './Badges';
import { modelPath } from '../../paths';

/** Models found by search (now), or the models of the catalog at a past time. */
export function ModelResults({ models, at }: { models: (Model | CatalogEntryAt)[]; at: string | null }) {
  const now = !at;
  return (
    <table className="results">
      <caption className="visually-hidden">Models</caption>
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">Kind</th>
          <th scope="col">Aliases</th>
          {now && <th scope="col">Latest</th>}
          {now && <th scope="col">Versions</th>}
          <th scope="col">Description</th>
        </tr>
      </thead>
      <tbody>
        {models.map((m) => (
          <tr key={m.name}>
            <th scope="row">
              <Link href={withAt(modelPath(m.name), at)}>{m.name}</Link>
            </th>
            <td>
              <KindBadge kind={m.kind} />
            </td>
            <td>
              <AliasBadges aliases={m.aliases} />
            </td>
            {'version_count' in m && <td>{m.latest_version ?? '—'}</td>}
            {'version_count' in m && <td>{m.version_count}</td>}
            <td>{m.description}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
