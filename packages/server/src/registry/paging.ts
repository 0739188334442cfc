import { decodeCursor, encodeCursor, pageSize } from '@berth/core';
import type { ResultPage } from './results.js';

/**
 * Keyset paging for the native lists: the cursor holds one field, the last item's position
 * (`{ n: 'name' }`, `{ v: 7 }` …), and the store is asked for one row more than the page so
 * the page knows whether another follows.
 */
export class Keyset<P extends string | number> {
  /** Items per page (the `limit` asked for, checked). */
  readonly limit: number;
  /** The position the page starts after; undefined on the first page. */
  readonly after: P | undefined;

  constructor(
    opts: { cursor?: string; limit?: unknown },
    private readonly field: string,
    position: (raw: string | number) => P,
  ) {
    this.limit = pageSize(opts.limit);
    this.after = opts.cursor ? position(decodeCursor(opts.cursor, [field])[field]!) : undefined;
  }

  /** How many rows to read: one more than the page. */
  get fetch(): number {
    return this.limit + 1;
  }

  /** The page of `rows` (read with `fetch`) and the cursor after its last item, if more follow. */
  page<T>(rows: readonly T[], position: (item: T) => P): ResultPage<T> {
    const items = rows.slice(0, this.limit);
    return { items, next_cursor: rows.length > this.limit ? encodeCursor({ [this.field]: position(items[items.length - 1]!) }) : null };
  }
}
