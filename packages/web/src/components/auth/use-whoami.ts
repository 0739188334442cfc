import { useSyncExternalStore } from 'react';
import type { WhoAmI } from '@berth/core';
import { BerthError } from '@berth/sdk';
import { client, storedToken } from '../../api';

/** Who the server takes this tab for: asked once per token, shared by the header and every page. */
export type Me = { status: 'loading' } | { status: 'signed-out'; message: string } | { status: 'error'; message: string } | { status: 'ok'; me: WhoAmI };

let current: Me = { status: 'loading' };
let askedWith: string | null | undefined;
const listeners = new Set<() => void>();

function publish(next: Me): void {
  current = next;
  for (const l of listeners) l();
}

function ask(): void {
  const token = storedToken();
  if (askedWith === token) return;
  askedWith = token;
  client()
    .whoami()
    .then(
      (me) => askedWith === token && publish({ status: 'ok', me }),
      (err: unknown) => askedWith === token && noticeError(err),
    );
}

/**
 * A 401 from any call means the tab's token is missing, wrong, expired or revoked: the header
 * then offers the sign-in form. Other errors stay with the page that met them.
 */
export function noticeError(err: unknown): void {
  if (err instanceof BerthError && err.code === 'UNAUTHENTICATED') publish({ status: 'signed-out', message: err.message });
  else if (current.status === 'loading') publish({ status: 'error', message: err instanceof Error ? err.message : String(err) });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  ask();
  return () => listeners.delete(listener);
}

export function useWhoami(): Me {
  return useSyncExternalStore(subscribe, () => current);
}
