import { useState } from 'react';

/**
 * A change the user starts from a page (approve, roll back, create or revoke a token, replay a
 * delivery): `run` clears the last error, marks the action busy while it runs, and keeps why it
 * failed for the page to show (through ApiError, so a 401 brings up sign-in).
 */
export function useAction(): { busy: boolean; error: Error | null; run(action: () => Promise<void>): Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}
