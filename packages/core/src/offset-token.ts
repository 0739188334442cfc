import { invalid } from './errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';

/** Opaque offset page tokens for searches that page by position, as MLflow's run and experiment searches do. */
export function encodeOffsetToken(offset: number): string {
  return encodeCursor({ o: offset });
}

export function decodeOffsetToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  let o: unknown;
  try {
    o = decodeCursor(token, ['o']).o;
  } catch {
    o = undefined;
  }
  if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) {
    throw invalid('Invalid page_token: pass the next_page_token of the previous page unchanged', { field: 'page_token' });
  }
  return o;
}
