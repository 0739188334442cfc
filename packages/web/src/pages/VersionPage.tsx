import type { Model, Version } from '@berth/core';
import { Link } from 'wouter';
import { client } from '../api';
import { useAt, withAt } from '../at';
import { modelPath } from '../paths';
import { AtBanner } from '../components/time/AtBanner';
import { formatUtc } from '../components/time/time';
import { editsAfter } from '../components/version/edits-after';
import { Evaluations } from '../components/version/Evaluations';
import { FilesTable } from '../components/version/FilesTable';
import { formatBytes } from '../components/version/format';
import { GateReports } from '../components/version/GateReports';
import { FLAGS_KEY, INSPECTION_KEY, Inspections } from '../components/version/Inspections';
import { LineageGraph } from '../components/version/LineageGraph';
import { type Editable, editableAt, existedAt } from '../components/version/version-at';
import { useQuery } from '../use-query';

interface Shown {
  version: Version;
  kind: Model['kind'] | undefined;
  aliases: string[];
  editable: Editable;
}

/**
 * A version as it is, or as it was at `at`: files, digest and pins never change after READY; the
 * description, metadata, tags and stage of then come from the audit trail, the aliases from the
 * model's time travel.
 */
async function load(name: string, n: number, at: string | null): Promise<Shown> {
  const c = client();
  const version = await c.getVersion(name, n);
  if (!at) {
    const model = await c.getModel(name).catch(() => undefined);
    return { version, kind: model?.kind, aliases: version.aliases, editable: version };
  }
  const subject = `${name}:${n}`;
  const [then, edits] = await Promise.all([c.modelAt(name, at), editsAfter(name, at, [subject])]);
  const aliases = Object.entries(then.aliases)
    .filter(([, v]) => v === n)
    .map(([a]) => a)
    .sort();
  return { version, kind: then.model?.kind, aliases, editable: editableAt(version, subject, edits) };
}

function Summary({ s }: { s: Shown }) {
  const v = s.version;
  return (
    <dl className="facts">
      <dt>Digest</dt>
      <dd>
        <code className="digest">{v.digest}</code>
      </dd>
      <dt>Status</dt>
      <dd>{v.status}</dd>
      <dt>Stage</dt>
      <dd>{s.editable.stage}</dd>
      {s.kind && (
        <>
          <dt>Kind</dt>
          <dd>{s.kind}</dd>
        </>
      )}
      <dt>Aliases</dt>
      <dd className="aliases">
        {s.aliases.length === 0
          ? 'no aliases'
          : s.aliases.map((a) => (
              <span key={a} className="badge alias">
                @{a}
              </span>
            ))}
      </dd>
      <dt>Size</dt>
      <dd title={`${v.size} bytes`}>
        {formatBytes(v.size)} in {v.file_count} file{v.file_count === 1 ? '' : 's'}
      </dd>
      <dt>Created</dt>
      <dd>
        <time dateTime={v.created_at}>{formatUtc(v.created_at)}</time> by {v.created_by}
      </dd>
      {v.source && (
        <>
          <dt>Source</dt>
          <dd>
            <code>{v.source}</code>
          </dd>
        </>
      )}
      {v.external_uri && (
        <>
          <dt>Stored at</dt>
          <dd>
            <code>{v.external_uri}</code>
          </dd>
        </>
      )}
    </dl>
  );
}

function Fields({ e }: { e: Editable }) {
  const metadata = Object.entries(e.metadata).filter(([k]) => k !== INSPECTION_KEY && k !== FLAGS_KEY && k !== 'berth.card');
  const tags = Object.entries(e.tags);
  return (
    <section aria-labelledby="metadata">
      <h2 id="metadata">Metadata and tags</h2>
      {e.description && <p>{e.description}</p>}
      {metadata.length === 0 && tags.length === 0 ? (
        <p>No metadata or tags.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {metadata.map(([k, v]) => (
              <tr key={`m:${k}`}>
                <th scope="row">
                  <code>{k}</code>
                </th>
                <td>{typeof v === 'string' ? v : JSON.stringify(v)}</td>
              </tr>
            ))}
            {tags.map(([k, v]) => (
              <tr key={`t:${k}`}>
                <th scope="row">
                  tag <code>{k}</code>
                </th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** `/models/:name/versions/:version` (DESIGN §7). */
export function VersionPage({ params }: { params: { name: string; version: string } }) {
  const at = useAt();
  const name = decodeURIComponent(params.name);
  const n = /^[1-9]\d*$/.test(params.version) ? Number(params.version) : null;
  const q = useQuery(async () => (n === null ? null : load(name, n, at)), [name, n, at]);
  const modelLink = <Link href={withAt(modelPath(name), at)}>{name}</Link>;
  const title = (
    <h1>
      {name} version {params.version}
    </h1>
  );
  if (n === null)
    return (
      <>
        {title}
        <p role="alert" className="error">
          “{params.version}” is not a version number. Versions are numbered 1, 2, 3 … — see the versions of {modelLink}.
        </p>
      </>
    );
  return (
    <>
      {title}
      <AtBanner at={at} />
      <p className="crumbs">Model: {modelLink}</p>
      {q.status === 'loading' && <p aria-live="polite">Loading…</p>}
      {q.status === 'error' && (
        <p role="alert" className="error">
          {q.error.message}
        </p>
      )}
      {q.status === 'ok' && q.data && !existedAt(q.data.version.created_at, at) && at && (
        <p role="status" className="notice">
          Version {n} of {name} did not exist at {formatUtc(at)}: it was created at{' '}
          <time dateTime={q.data.version.created_at}>{formatUtc(q.data.version.created_at)}</time>.
        </p>
      )}
      {q.status === 'ok' && q.data && existedAt(q.data.version.created_at, at) && (
        <>
          <Summary s={q.data} />
          <section aria-labelledby="files">
            <h2 id="files">Files</h2>
            <FilesTable files={q.data.version.files ?? []} />
          </section>
          <Inspections metadata={q.data.version.metadata} />
          <LineageGraph name={name} version={n} runId={q.data.version.run_id} at={at} />
          <Evaluations name={name} version={n} at={at} />
          <GateReports name={name} version={n} at={at} />
          <Fields e={q.data.editable} />
        </>
      )}
    </>
  );
}
