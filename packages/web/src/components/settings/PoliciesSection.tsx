import type { Policy } from '@berth/core';
import { client } from '../../api';
import { ApiError } from '../common/ApiError';
import { usePages } from '../../use-pages';
import { LoadMore } from '../common/LoadMore';
import { formatUtc } from '../time/time';

/** The version of a policy that was the latest at `at`, walking back from the latest; undefined when none existed yet. */
async function policyAt(latest: Policy, at: string | null): Promise<Policy | undefined> {
  if (at === null) return latest;
  let p = latest;
  while (Date.parse(p.created_at) > Date.parse(at)) {
    if (p.version === 1) return undefined;
    p = await client().getPolicy(p.name, { version: p.version - 1 });
  }
  return p;
}

/** Policies: each one's latest version (or the one in force at `at`) with its YAML. */
export function PoliciesSection({ at }: { at: string | null }) {
  const list = usePages(
    async (cursor) => {
      const page = await client().listPolicies({ cursor, limit: 20 });
      const then = await Promise.all(page.items.map((p) => policyAt(p, at)));
      return { items: then.filter((p): p is Policy => p !== undefined), next_cursor: page.next_cursor };
    },
    [at],
  );
  return (
    <>
      <ApiError error={list.status === 'error' ? list.error : null} />
      {list.items.map((p) => (
        <article key={p.name} className="policy" aria-labelledby={`pol-${p.name}`}>
          <h3 id={`pol-${p.name}`}>
            {p.name} v{p.version}
          </h3>
          <p>
            target alias @{p.document.target_alias}
            {p.document.require_approvals ? ` · ${p.document.require_approvals} approval(s) required` : ''} · {p.document.gates.length} gate(s) · applied{' '}
            <time dateTime={p.created_at}>{formatUtc(p.created_at)}</time> by {p.created_by} · <code>{p.digest}</code>
          </p>
          <details>
            <summary>YAML of {p.name}</summary>
            <pre>{p.yaml}</pre>
          </details>
        </article>
      ))}
      {list.status === 'ok' && list.items.length === 0 ? <p>No policies.</p> : null}
      <LoadMore pages={list} what="policies" />
    </>
  );
}
