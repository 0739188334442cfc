import type { Evaluation } from '@berth/core';
import { client } from '../../api';
import { LoadMore } from '../common/LoadMore';
import { usePages } from '../../use-pages';
import { formatUtc } from '../time/time';
import { existedAt } from './version-at';

/** The version's recorded evaluations, newest first, a page at a time; at `at`, those recorded by then. */
export function Evaluations({ name, version, at }: { name: string; version: number; at: string | null }) {
  const pages = usePages<Evaluation>(
    async (cursor) => {
      const page = await client().listEvaluations(name, version, { limit: 50, ...(cursor ? { cursor } : {}) });
      return { ...page, items: page.items.filter((e) => existedAt(e.recorded_at, at)) };
    },
    [name, version, at],
  );
  return (
    <section aria-labelledby="evaluations">
      <h2 id="evaluations">Evaluations</h2>
      {pages.status === 'error' && <p className="error">{pages.error?.message}</p>}
      {pages.status === 'ok' && pages.items.length === 0 && !pages.hasMore && <p>No evaluations recorded.</p>}
      {pages.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Measured</th>
              <th scope="col">Metrics</th>
              <th scope="col">Dataset</th>
              <th scope="col">Source</th>
              <th scope="col">Recorded by</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((e) => (
              <tr key={e.id}>
                <th scope="row">
                  <time dateTime={e.measured_at}>{formatUtc(e.measured_at)}</time>
                </th>
                <td>
                  {Object.entries(e.metrics)
                    .map(([k, v]) => `${k} = ${v}`)
                    .join(', ')}
                </td>
                <td>{e.dataset ?? '—'}</td>
                <td>{e.source ?? '—'}</td>
                <td>{e.recorded_by}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore pages={pages} what="evaluations" />
    </section>
  );
}
