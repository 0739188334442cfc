import type { ChainVerdict } from '@berth/core';
import { client } from '../../api';
import { useQuery } from '../../use-query';

/**
 * `berth audit verify` in the page: the server re-hashes the whole chain and names the first bad
 * seq. It checks the trail as stored now, also on a page shown at `at` (the past is only as
 * trustworthy as the chain that records it today).
 */
export function VerifyStatus({ at }: { at: string | null }) {
  const q = useQuery<ChainVerdict>(() => client().verifyAudit(), []);
  return (
    <section aria-labelledby="verify">
      <h2 id="verify">Chain verification</h2>
      <div aria-live="polite">
        {q.status === 'loading' && <p>Verifying the audit chain…</p>}
        {q.status === 'error' && <p className="error">Could not verify: {q.error.message}</p>}
        {q.status === 'ok' &&
          (q.data.ok ? (
            <p className="verdict ok">
              Audit chain verified: {q.data.checked} events intact, up to seq {q.data.last_seq} (head <code className="digest">{q.data.last_hash}</code>).
            </p>
          ) : (
            <p className="verdict broken">
              Audit chain broken at seq {q.data.first_bad_seq}
              {q.data.problem ? ` (${q.data.problem})` : ''}: an event was edited or deleted after it was written. {q.data.checked} events checked.
            </p>
          ))}
      </div>
      {at && <p>The check covers the whole trail as it is stored now.</p>}
      <button type="button" onClick={q.reload}>
        Verify again
      </button>
    </section>
  );
}
