import { BerthClient } from '@berth/sdk';

/**
 * The one way the UI talks to the server: the SDK, at this page's own origin, with the token the
 * user signed in with (kept for the browser tab in sessionStorage, so closing the tab signs out).
 */
const TOKEN_KEY = 'berth.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function client(): BerthClient {
  const token = storedToken();
  return new BerthClient({ url: window.location.origin, ...(token ? { token } : {}) });
}
