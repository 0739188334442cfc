import { type FormEvent, useState } from 'react';
import { BerthClient } from '@berth/sdk';
import { signIn, signOut, storedToken } from '../../api';
import { topRole } from './roles';
import { useWhoami } from './use-whoami';

/** The token form: the token is checked with the server before it is kept for this tab. */
function SignInForm({ why }: { why: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await new BerthClient({ url: window.location.origin, token: token.trim() }).whoami();
      signIn(token.trim());
      // Every page reads with the new token from the start: no answer fetched without it lingers.
      window.location.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  }

  return (
    <section className="sign-in" aria-labelledby="sign-in-heading">
      <h2 id="sign-in-heading">Sign in</h2>
      <p>{why}</p>
      <form onSubmit={submit}>
        <label htmlFor="sign-in-token">Token</label>
        <input id="sign-in-token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} placeholder="hf_…" required />
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
      <p className="hint">
        The token stays in this browser tab only (closing the tab signs out). An admin makes one with <code>berth token create NAME --role ROLE</code>.
      </p>
      <p role="alert" className="error">
        {error}
      </p>
    </section>
  );
}

/** The header's account control: who is signed in and a sign-out button, or the sign-in form when the server answers 401. */
export function AuthControl() {
  const state = useWhoami();
  if (state.status === 'loading') return null;
  if (state.status === 'signed-out')
    return <SignInForm why={storedToken() ? `The server refused this tab's token: ${state.message}` : 'This server needs a token to show the registry.'} />;
  if (state.status === 'error') return null;
  const { me } = state;
  if (!me.authenticated) {
    return (
      <p className="whoami" aria-live="polite">
        {me.name} ({topRole(me)}, no sign-in needed)
      </p>
    );
  }
  return (
    <div className="whoami" aria-live="polite">
      <span>
        Signed in as <strong>{me.name}</strong> ({topRole(me)}
        {me.models ? `, models ${me.models.join(', ')}` : ''})
      </span>
      <button
        type="button"
        onClick={() => {
          signOut();
          window.location.reload();
        }}
      >
        Sign out
      </button>
    </div>
  );
}
