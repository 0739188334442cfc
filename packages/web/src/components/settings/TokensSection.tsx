import { type FormEvent, useState } from 'react';
import { type CreatedToken, TOKEN_ROLES, type Token, type TokenRole } from '@berth/core';
import { client } from '../../api';
import { useQuery } from '../../use-query';
import { ApiError } from '../common/ApiError';
import { useAction } from '../../use-action';
import { formatUtc } from '../time/time';

/** A token's state as of `at` (ISO time, or now): undefined when it did not exist yet. */
function tokenAt(t: Token, at: string | null): Token | undefined {
  if (at === null) return t;
  const when = Date.parse(at);
  if (Date.parse(t.created_at) > when) return undefined;
  if (t.revoked_at !== null && Date.parse(t.revoked_at) > when) return { ...t, revoked_at: null, revoked_by: null };
  return t;
}

/** Tokens: the list (revoked ones too, never secrets), a new token shown once, and revoking with a reason (admin). */
export function TokensSection({ at, canChange }: { at: string | null; canChange: boolean }) {
  const tokens = useQuery(() => client().listTokens(), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState<TokenRole>('viewer');
  const [models, setModels] = useState('');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const action = useAction();
  const [status, setStatus] = useState('');

  function create(e: FormEvent) {
    e.preventDefault();
    void action.run(async () => {
      const patterns = models
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      const t = await client().createToken({
        name: name.trim(),
        role,
        ...(patterns.length ? { models: patterns } : {}),
        ...(expires.trim() ? { expires_in: expires.trim() } : {}),
      });
      setCreated(t);
      setName('');
      setModels('');
      setExpires('');
      tokens.reload();
    });
  }

  function revoke(e: FormEvent) {
    e.preventDefault();
    if (!revoking) return;
    void action.run(async () => {
      await client().revokeToken(revoking, reason.trim() || undefined);
      setStatus(`Revoked token ${revoking}.`);
      setRevoking(null);
      setReason('');
      tokens.reload();
    });
  }

  const rows = tokens.status === 'ok' ? tokens.data.map((t) => tokenAt(t, at)).filter((t): t is Token => t !== undefined) : [];
  return (
    <>
      <p className="status" aria-live="polite">
        {status}
      </p>
      <ApiError error={action.error} />
      {created ? (
        <div className="secret" role="status">
          <p>
            New token <strong>{created.name}</strong> ({created.role}). Copy it now: it is not shown again.
          </p>
          <label htmlFor="new-token">Token {created.name}</label>
          <input id="new-token" readOnly value={created.token} onFocus={(e) => e.currentTarget.select()} size={60} />
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      ) : null}
      {tokens.status === 'error' ? <ApiError error={tokens.error} /> : null}
      {tokens.status === 'ok' ? (
        <table>
          <caption>Tokens (secrets are never listed)</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Models</th>
              <th scope="col">Expires</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              {canChange ? <th scope="col">Action</th> : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.name}>
                <th scope="row">{t.name}</th>
                <td>{t.role}</td>
                <td>{t.models ? t.models.join(', ') : 'all'}</td>
                <td>{t.expires_at ? <time dateTime={t.expires_at}>{formatUtc(t.expires_at)}</time> : 'never'}</td>
                <td>
                  <time dateTime={t.created_at}>{formatUtc(t.created_at)}</time> by {t.created_by}
                </td>
                <td>{t.revoked_at ? `revoked ${formatUtc(t.revoked_at)} by ${t.revoked_by}` : 'active'}</td>
                {canChange ? (
                  <td>
                    {t.revoked_at ? null : (
                      <button type="button" onClick={() => setRevoking(t.name)}>
                        Revoke {t.name}…
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {canChange && revoking ? (
        <form className="inline" onSubmit={revoke}>
          <label htmlFor="revoke-reason">Reason for revoking {revoking}</label>
          <input id="revoke-reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={1000} />
          <button type="submit">Revoke {revoking}</button>
          <button type="button" onClick={() => setRevoking(null)}>
            Cancel
          </button>
        </form>
      ) : null}
      {canChange ? (
        <form className="create" onSubmit={create}>
          <h3>New token</h3>
          <label htmlFor="token-name">Name</label>
          <input id="token-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
          <label htmlFor="token-role">Role</label>
          <select id="token-role" value={role} onChange={(e) => setRole(e.target.value as TokenRole)}>
            {TOKEN_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <label htmlFor="token-models">Models (patterns, comma-separated; empty: all)</label>
          <input id="token-models" value={models} onChange={(e) => setModels(e.target.value)} placeholder="chatbot*, team/*" />
          <label htmlFor="token-expires">Expires in (e.g. 30d; empty: never)</label>
          <input id="token-expires" value={expires} onChange={(e) => setExpires(e.target.value)} />
          <button type="submit">Create token</button>
        </form>
      ) : null}
    </>
  );
}
