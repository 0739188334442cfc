import { diffCards, type Version } from '@berth/core';
import { client } from '../../api';
import { useQuery } from '../../use-query';
import { compareFiles, compareRecords, display, formatBytes, type CompareRow } from './compare';

interface Compared {
  versions: Version[];
  metrics: Record<string, number>[];
  cards: string[];
}

async function loadCompared(name: string, versions: readonly number[], at: string | null): Promise<Compared> {
  const c = client();
  const [full, metrics, cards] = await Promise.all([
    Promise.all(versions.map((v) => c.getVersion(name, v))),
    c.latestMetrics(name, versions, at ? { at } : {}),
    Promise.all(versions.map((v) => c.getCard(name, v))),
  ]);
  const byVersion = new Map(metrics.map((m) => [m.version, m.metrics]));
  return { versions: full, metrics: versions.map((v) => byVersion.get(v) ?? {}), cards: cards.map((card) => card.text) };
}

/** What a version's metadata table compares: its own fields, then its metadata keys, then its tags. */
function fieldsOf(v: Version): Record<string, unknown> {
  const out: Record<string, unknown> = { digest: v.digest, stage: v.stage, status: v.status, size: formatBytes(v.size), source: v.source, run_id: v.run_id };
  if (v.description) out.description = v.description;
  for (const [k, val] of Object.entries(v.metadata)) out[`metadata.${k}`] = val;
  for (const [k, val] of Object.entries(v.tags)) out[`tag.${k}`] = val;
  return out;
}

function RowsTable<T>({
  caption,
  rows,
  versions,
  cell,
}: {
  caption: string;
  rows: CompareRow<T>[];
  versions: readonly number[];
  cell(v: T | undefined): string;
}) {
  if (rows.length === 0) return <p className="muted">None recorded.</p>;
  return (
    <table className="compare">
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          {versions.map((v) => (
            <th scope="col" key={v}>
              Version {v}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} className={r.differs ? 'differs' : undefined}>
            <th scope="row">
              {r.key}
              {r.differs ? <span className="sr-only"> (differs)</span> : null}
            </th>
            {r.values.map((v, i) => (
              <td key={versions[i]}>{cell(v)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Two or more versions side by side: metrics, metadata, files, and each card's diff against the first one's. */
export function CompareView({ name, versions, at, onClose }: { name: string; versions: readonly number[]; at: string | null; onClose(): void }) {
  const q = useQuery(() => loadCompared(name, versions, at), [name, versions.join(','), at]);
  return (
    <section aria-labelledby="compare-heading" className="compare-view">
      <h2 id="compare-heading">Comparing versions {versions.join(', ')}</h2>
      <button type="button" onClick={onClose}>
        Close comparison
      </button>
      {q.status === 'loading' ? <p aria-live="polite">Loading the versions…</p> : null}
      {q.status === 'error' ? (
        <p className="error" role="alert">
          Could not compare: {q.error.message}
        </p>
      ) : null}
      {q.status === 'ok' ? (
        <>
          <h3>Metrics</h3>
          <RowsTable caption="Metrics by version" rows={compareRecords(q.data.metrics)} versions={versions} cell={display} />
          <h3>Metadata</h3>
          <RowsTable caption="Metadata by version" rows={compareRecords(q.data.versions.map(fieldsOf))} versions={versions} cell={display} />
          <h3>Files</h3>
          <RowsTable
            caption="Files by version"
            rows={compareFiles(q.data.versions.map((v) => v.files ?? []))}
            versions={versions}
            cell={(f) => (f ? `${formatBytes(f.size)} · ${f.sha256.slice(0, 12)}` : 'absent')}
          />
          <h3>Model card</h3>
          {q.data.cards.slice(1).map((text, i) => {
            const diff = diffCards(q.data.cards[0] ?? '', text, `${name}:${versions[0]}`, `${name}:${versions[i + 1]}`);
            return (
              <figure key={versions[i + 1]} className="card-diff">
                <figcaption>
                  Card of version {versions[0]} → version {versions[i + 1]}
                </figcaption>
                {diff === '' ? (
                  <p>The cards are the same.</p>
                ) : (
                  <pre>
                    {diff.split('\n').map((line, k) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: the lines of one diff never reorder
                      <span key={k} className={line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : undefined}>
                        {line}
                        {'\n'}
                      </span>
                    ))}
                  </pre>
                )}
              </figure>
            );
          })}
        </>
      ) : null}
    </section>
  );
}
