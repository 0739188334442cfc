import { BerthError, KNOWN_EVENT_TYPES, type BerthEvent } from '@berth/core';
import type { Store } from '../store/store.js';
import type { EventRecord } from '../store/events.js';

/** Which events a follower or a page wants: `types` exact names or `prefix.*`, `model` one model's events. */
export interface EventFilter {
  types?: readonly string[];
  model?: string;
}

const PREFIXES = new Set(KNOWN_EVENT_TYPES.map((t) => t.slice(0, t.indexOf('.'))));

/**
 * Reads `types=a,b` (comma separated): each a known event type, a known prefix with `.*`
 * (`alias.*`), or `*`. Anything else is refused naming it, so a typo does not become a
 * stream that silently never sends anything.
 */
export function parseEventTypes(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const types = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (types.length === 0) throw new BerthError('INVALID_ARGUMENT', 'types is empty: name event types such as alias.moved or alias.*', { field: 'types' });
  for (const t of types) {
    const known = t === '*' || KNOWN_EVENT_TYPES.includes(t) || (t.endsWith('.*') && PREFIXES.has(t.slice(0, -2)));
    if (!known)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `unknown event type ${JSON.stringify(t)} in types: use one of ${KNOWN_EVENT_TYPES.join(', ')}, a prefix such as alias.*, or *`,
        { field: 'types', type: t },
      );
  }
  return types.includes('*') ? undefined : types;
}

/** Reads an `after` cursor or a `Last-Event-ID` (`<seq>` or `evt_<seq>`): a non-negative integer. */
export function parseEventCursor(text: string, field: string): number {
  const digits = text.startsWith('evt_') ? text.slice(4) : text;
  const n = /^\d{1,15}$/.test(digits) ? Number(digits) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new BerthError('INVALID_ARGUMENT', `${field} must be an event sequence number (a non-negative integer), got ${JSON.stringify(text)}`, { field });
  return n;
}

export function matches(filter: EventFilter, r: EventRecord): boolean {
  if (filter.model !== undefined && r.model !== filter.model) return false;
  if (!filter.types) return true;
  for (const t of filter.types) {
    if (t === r.type) return true;
    if (t.endsWith('.*') && r.type.startsWith(t.slice(0, -1))) return true;
  }
  return false;
}

/** Outbox rows read per query. */
const BATCH = 1000;
/** Rows a filtered page scans at most before it answers with what it found and a cursor past them. */
const PAGE_SCAN = 20 * BATCH;

/**
 * One page of events after `after`, oldest first. `next_cursor` is the last seq scanned when
 * more may follow (a filtered page may be short, or even empty, and still have a cursor).
 */
export async function listEvents(
  store: Store,
  q: EventFilter & { after: number; limit: number },
): Promise<{ items: BerthEvent[]; next_cursor: string | null }> {
  const items: BerthEvent[] = [];
  let cursor = q.after;
  for (let scanned = 0; scanned < PAGE_SCAN; ) {
    const want = q.types || q.model !== undefined ? BATCH : q.limit - items.length;
    const rows = await store.read.events.after(cursor, Math.max(1, want));
    for (const r of rows) {
      cursor = r.seq;
      if (matches(q, r)) items.push(r.event);
      if (items.length >= q.limit) break;
    }
    scanned += rows.length;
    if (items.length >= q.limit) return { items, next_cursor: String(cursor) };
    if (rows.length < want) return { items, next_cursor: null };
  }
  return { items, next_cursor: String(cursor) };
}

/** An event as the stream sends it, rendered once per batch whatever the number of followers. */
export interface FeedItem {
  record: EventRecord;
  frame: string;
}

/**
 * What a follower does with events: `send` must not block; it returns false to leave the feed.
 * `dropped` is called when the feed lets go of it by itself (too far behind, or shutdown).
 */
export interface FeedFollower {
  filter: EventFilter;
  send(items: readonly FeedItem[]): boolean;
  dropped(): void;
  /** Resolves once the follower can take the next backlog batch; false to leave. */
  ready(): Promise<boolean>;
}

/** A frame of the text/event-stream format (WHATWG HTML §9.2): `id`, `event`, one `data` line of JSON. */
export function sseFrame(r: EventRecord): string {
  return `id: ${r.seq}\nevent: ${r.type}\ndata: ${JSON.stringify(r.event)}\n\n`;
}

interface Member {
  follower: FeedFollower;
  /** Seq of the last event handed to it; events at or below are never handed again. */
  cursor: number;
  /** Live events read while it still catches up on the backlog. */
  waiting: FeedItem[] | undefined;
}

/** Live events that may wait for a follower still reading its backlog before it is dropped. */
const MAX_WAITING = 10_000;

/**
 * The event stream's single reader of the outbox: however many followers, one query per
 * wake-up (a commit of this process, or every `pollMs` for commits of other servers on the
 * same PostgreSQL), each batch rendered once and handed to every follower. A follower joins
 * with a cursor: it first reads its backlog (after its cursor up to where the feed stood when
 * it joined), while live events queue for it; then the queue, then live events, each seq once.
 */
export class EventFeed {
  private readonly members = new Set<Member>();
  /** Seq of the last event the feed read; undefined while it does not run. */
  private head: number | undefined;
  private starting: Promise<number> | undefined;
  private pumping = false;
  private again = false;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly pollMs = 1000,
  ) {}

  get size(): number {
    return this.members.size;
  }

  /**
   * Adds a follower after `after` and returns its leave function. Backlog events are handed to
   * `follower.send` as they are read; the promise settles once the follower is live.
   */
  async follow(after: number, follower: FeedFollower): Promise<() => void> {
    const member: Member = { follower, cursor: after, waiting: [] };
    const leave = () => this.leave(member);
    this.members.add(member);
    try {
      const joinedAt = await this.start();
      while (member.cursor < joinedAt && this.members.has(member)) {
        const rows = await this.store.read.events.after(member.cursor, BATCH);
        if (rows.length === 0) break;
        if (!this.hand(member, rows.map(item))) return leave;
        if (!(await follower.ready())) {
          leave();
          return leave;
        }
      }
      const waiting = member.waiting ?? [];
      member.waiting = undefined;
      if (this.members.has(member)) this.hand(member, waiting);
    } catch (err) {
      leave();
      throw err;
    }
    return leave;
  }

  /** Drops every follower and stops reading (server shutdown). */
  close(): void {
    for (const m of [...this.members]) this.drop(m);
  }

  private drop(m: Member): void {
    if (this.members.has(m)) {
      this.leave(m);
      m.follower.dropped();
    }
  }

  private leave(m: Member): void {
    if (!this.members.delete(m)) return;
    if (this.members.size === 0) this.stop();
  }

  /** Hands events past the member's cursor that it wants; false when it left. */
  private hand(m: Member, items: readonly FeedItem[]): boolean {
    const fresh = items.filter((i) => i.record.seq > m.cursor && matches(m.follower.filter, i.record));
    const last = items.at(-1);
    if (last && last.record.seq > m.cursor) m.cursor = last.record.seq;
    if (fresh.length === 0) return true;
    if (m.follower.send(fresh)) return true;
    this.leave(m);
    return false;
  }

  private start(): Promise<number> {
    if (this.head !== undefined) return Promise.resolve(this.head);
    this.starting ??= (async () => {
      this.unsubscribe = this.store.onCommit(() => this.wake());
      this.timer = setInterval(() => this.wake(), this.pollMs);
      this.timer.unref();
      try {
        const last = await this.store.read.events.last();
        this.head = last;
        return last;
      } catch (err) {
        this.stop();
        throw err;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.head = undefined;
  }

  private wake(): void {
    if (this.head === undefined) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
    });
  }

  private async pump(): Promise<void> {
    do {
      this.again = false;
      for (;;) {
        const from = this.head;
        if (from === undefined) return;
        let rows: EventRecord[];
        try {
          rows = await this.store.read.events.after(from, BATCH);
        } catch {
          // A failed read (the database briefly away) is retried at the next wake-up or poll.
          return;
        }
        if (this.head !== from || rows.length === 0) break;
        const items = rows.map(item);
        this.head = rows[rows.length - 1]!.seq;
        for (const m of [...this.members]) {
          if (m.waiting) {
            m.waiting.push(...items);
            if (m.waiting.length > MAX_WAITING) this.drop(m);
          } else this.hand(m, items);
        }
        if (rows.length < BATCH) break;
      }
    } while (this.again);
  }
}

function item(record: EventRecord): FeedItem {
  return { record, frame: sseFrame(record) };
}
