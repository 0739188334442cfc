import { Link } from 'wouter';
import { client } from '../../api';
import { withAt } from '../../at';
import { useQuery } from '../../use-query';
import { formatUtc } from '../time/time';
import { versionPath } from '../../paths';

/** A model's aliases now, or at `at` from the audit-backed time travel: "which version did @champion point to then?". */
export function AliasesAt({ model, at }: { model: string; at: string | null }) {
  const q = useQuery(async () => (at ? (await client().modelAt(model, at)).aliases : (await client().getModel(model)).aliases), [model, at]);
  return (
    <section aria-labelledby="aliases-at">
      <h2 id="aliases-at">
        Aliases of {model} {at ? `at ${formatUtc(at)}` : 'now'}
      </h2>
      {q.status === 'loading' && <p aria-live="polite">Loading…</p>}
      {q.status === 'error' && (
        <p role="alert" className="error">
          {q.error.message}
        </p>
      )}
      {q.status === 'ok' &&
        (Object.keys(q.data).length === 0 ? (
          <p>No aliases {at ? 'then' : 'now'}.</p>
        ) : (
          <table className="aliases-at">
            <thead>
              <tr>
                <th scope="col">Alias</th>
                <th scope="col">Version</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(q.data)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([alias, version]) => (
                  <tr key={alias}>
                    <th scope="row">@{alias}</th>
                    <td>
                      <Link href={withAt(versionPath(model, version), at)}>
                        {model}:{version}
                      </Link>
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}
