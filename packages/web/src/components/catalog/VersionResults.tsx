import { Link } from 'wouter';
import type { VersionHit } from '@berth/core';
import { AliasBadges, KindBadge } from './Badges';
import { modelPath, versionPath } from '../../paths';

/** Versions found by search, newest first, with their aliases. */
export function VersionResults({ versions }: { versions: VersionHit[] }) {
  return (
    <table className="results">
      <caption className="visually-hidden">Versions</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Model</th>
          <th scope="col">Kind</th>
          <th scope="col">Aliases</th>
          <th scope="col">Tags</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={`${v.model}:${v.version}`}>
            <th scope="row">
              <Link href={versionPath(v.model, v.version)}>
                {v.model}:{v.version}
              </Link>
            </th>
            <td>
              <Link href={modelPath(v.model)}>{v.model}</Link>
            </td>
            <td>
              <KindBadge kind={v.model_kind} />
            </td>
            <td>
              <AliasBadges aliases={v.aliases} />
            </td>
            <td className="tags">
              {Object.entries(v.tags)
                .map(([k, val]) => `${k}=${val}`)
                .join(' ')}
            </td>
            <td>
              <time dateTime={v.created_at}>{v.created_at.slice(0, 19).replace('T', ' ')}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
