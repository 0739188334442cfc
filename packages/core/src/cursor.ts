import { invalid } from './errors.js';

/** Opaque page cursors: base64url of a small JSON object. Clients must not build them. */
export function encodeCursor(position: Record<string, string | number>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(position));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeCursor(cursor: string, keys: readonly string[]): Record<string, string | number> {
  try {
    const bin = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const obj = value as Record<string, unknown>;
      if (keys.every((k) => typeof obj[k] === 'string' || typeof obj[k] === 'number')) return obj as Record<string, string | number>;
    }
  } catch {
    // fall through to the error below
  }
  throw invalid('invalid cursor: pass the next_cursor value of the previous page unchanged', { field: 'cursor' });
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(limit: unknown): number {
  if (limit === undefined || limit === null || limit === '') return DEFAULT_PAGE_SIZE;
  const n = typeof limit === 'number' ? limit : typeof limit === 'string' && /^\d+$/.test(limit) ? Number(limit) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw invalid(`invalid limit ${JSON.stringify(limit)}: use 1-${MAX_PAGE_SIZE}`, { field: 'limit' });
  return n;
}
