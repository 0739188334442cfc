import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { eventId, eventMatches } from '@berth/core';
import type { Store } from '../store/store.js';
import type { DeliveryRecord, DispatchRecord } from '../store/webhooks.js';
import { compose } from './message.js';
import { mlflowEventOf } from './mlflow-payload.js';
import { send } from './sender.js';

export interface DispatcherOptions {
  store: Store;
  /** Epoch milliseconds; a test passes its own. */
  now?: () => number;
  /** Deliver to loopback, private and link-local addresses too (a receiver on the same host). */
  allowPrivate?: boolean;
  /** Time limit of one attempt, headers and body. */
  attemptTimeoutMs?: number;
  /** Attempts before a delivery is `failed` and its endpoint moves on to the next event. */
  maxAttempts?: number;
  /** Backoff: attempt n waits a random time up to min(maxDelayMs, baseDelayMs * 2^(n-1)) (full jitter). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How often to look for other servers' commits and due retries without being woken. */
  pollMs?: number;
  /** Endpoints delivered to at once. */
  concurrency?: number;
  /**
   * How long a server owns an endpoint without renewing it (renewed every third of it while it
   * delivers); a server that dies holding it delays its endpoints by at most this.
   */
  leaseMs?: number;
  random?: () => number;
  /** Called when a delivery ends `failed` (the server counts these for /metrics). */
  onDeliveryFailure?: (webhookId: string) => void;
  onError?: (err: unknown) => void;
}

const ENQUEUE_BATCH = 500;

/** The webhook's cursor moved under us or its lease went to another server: this round stops. */
class LostLease extends Error {}

/**
 * Delivers the outbox to webhooks. Woken by every commit of this process and by a timer (other
 * servers' commits, due retries). Per webhook it first turns the events after the webhook's
 * cursor into pending deliveries, advancing the cursor in the same transaction, then sends the
 * oldest pending delivery until none is due: one at a time, in order, so a receiver sees an
 * endpoint's events in seq order. Endpoints run in parallel (bounded), each under a lease in the
 * database so that of several servers on one PostgreSQL one delivers for it. Nothing here runs
 * inside a request or a registry transaction: a slow receiver delays only its own endpoint.
 * A crash leaves pending deliveries and the cursor in the database; the next start sends them.
 */
export class WebhookDispatcher {
  private readonly store: Store;
  private readonly now: () => number;
  private readonly owner = `srv_${randomBytes(8).toString('hex')}`;
  private readonly o: Required<Omit<DispatcherOptions, 'store' | 'now' | 'onDeliveryFailure' | 'onError'>>;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly stopping = new AbortController();
  private unsubscribe: (() => void) | undefined;
  private poll: NodeJS.Timeout | undefined;
  private retry: { timer: NodeJS.Timeout; at: number } | undefined;
  private ticking: Promise<void> | undefined;
  private tickAgain = false;

  constructor(private readonly opts: DispatcherOptions) {
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    const attemptTimeoutMs = opts.attemptTimeoutMs ?? 10_000;
    this.o = {
      allowPrivate: opts.allowPrivate ?? false,
      attemptTimeoutMs,
      maxAttempts: opts.maxAttempts ?? 8,
      baseDelayMs: opts.baseDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 10 * 60_000,
      pollMs: opts.pollMs ?? 1000,
      concurrency: opts.concurrency ?? 16,
      leaseMs: opts.leaseMs ?? 6000,
      random: opts.random ?? Math.random,
    };
    this.limit = pLimit(this.o.concurrency);
  }

  start(): void {
    this.unsubscribe = this.store.onCommit(() => this.wake());
    this.poll = setInterval(() => this.wake(), this.o.pollMs);
    this.poll.unref();
    this.wake();
  }

  /** Stops waking, aborts calls in flight (their deliveries stay pending) and gives up the leases. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.poll);
    if (this.retry) clearTimeout(this.retry.timer);
    this.stopping.abort();
    await this.ticking;
    await Promise.allSettled([...this.running.values()]);
  }

  /** Newest outbox seq minus the cursor of the active webhook furthest behind (0 without webhooks). */
  async outboxLag(): Promise<number> {
    const slowest = await this.store.read.webhooks.slowestCursor();
    if (slowest === undefined) return 0;
    return Math.max(0, (await this.store.read.events.last()) - slowest);
  }

  /** Runs rounds until nothing is due and nothing is in flight (tests; a round otherwise runs on its own). */
  async drain(): Promise<void> {
    do {
      this.wake();
      await this.ticking;
      await Promise.allSettled([...this.running.values()]);
    } while (this.running.size > 0 || this.tickAgain);
  }

  wake(): void {
    if (this.stopping.signal.aborted) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.tick().finally(() => {
      this.ticking = undefined;
      if (this.tickAgain) {
        this.tickAgain = false;
        this.wake();
      }
    });
  }

  private async tick(): Promise<void> {
    let hooks: DispatchRecord[];
    try {
      hooks = await this.store.read.webhooks.listActive();
    } catch (err) {
      this.opts.onError?.(err);
      return;
    }
    for (const h of hooks) {
      if (this.running.has(h.id)) {
        this.again.add(h.id);
        continue;
      }
      const run = this.limit(() => this.serve(h))
        .catch((err: unknown) => {
          if (!(err instanceof LostLease)) this.opts.onError?.(err);
        })
        .finally(() => {
          this.running.delete(h.id);
          if (this.again.delete(h.id)) this.wake();
        });
      this.running.set(h.id, run);
    }
  }

  private lease(h: DispatchRecord): Promise<boolean> {
    const now = this.now();
    return this.store.read.webhooks.acquireLease(h.id, this.owner, now, now + this.o.leaseMs);
  }

  private async serve(h: DispatchRecord): Promise<void> {
    if (this.stopping.signal.aborted || !(await this.lease(h))) return;
    let lost = false;
    // Renewed while a slow attempt runs too, so the lease can be shorter than an attempt.
    const heartbeat = setInterval(() => {
      this.lease(h).then(
        (held) => {
          if (!held) lost = true;
        },
        () => {},
      );
    }, this.o.leaseMs / 3);
    heartbeat.unref();
    try {
      await this.enqueue(h);
      while (!this.stopping.signal.aborted) {
        const d = await this.store.read.webhooks.nextPending(h.id);
        if (!d) break;
        const now = this.now();
        if (d.next_attempt_at !== null && d.next_attempt_at > now) {
          this.retryAt(d.next_attempt_at);
          break;
        }
        if (lost || !(await this.lease(h))) return;
        await this.attempt(h, d);
      }
    } finally {
      clearInterval(heartbeat);
      await this.store.read.webhooks.releaseLease(h.id, this.owner);
    }
  }

  /** Turns the outbox after the cursor into pending deliveries, the cursor moving in the same transaction. */
  private async enqueue(h: DispatchRecord): Promise<void> {
    let cursor = h.cursor;
    for (;;) {
      const events = await this.store.read.events.after(cursor, ENQUEUE_BATCH);
      const last = events[events.length - 1];
      if (!last) return;
      const at = this.now();
      const matched = events.filter((e) => eventMatches(h.events, e.type) && (h.flavor !== 'mlflow' || mlflowEventOf(e.type) !== undefined));
      const from = cursor;
      await this.store.transaction(async (tx) => {
        if (!(await tx.webhooks.advanceCursor(h.id, this.owner, from, last.seq))) throw new LostLease();
        await tx.webhooks.insertDeliveries(matched.map((e) => ({ id: deliveryId(), webhook_id: h.id, event_seq: e.seq, event_type: e.type, created_at: at })));
      });
      cursor = last.seq;
      if (events.length < ENQUEUE_BATCH) return;
    }
  }

  private async attempt(h: DispatchRecord, d: DeliveryRecord): Promise<void> {
    const at = this.now();
    const record = await this.store.read.events.find(d.event_seq);
    if (!record) {
      await this.store.read.webhooks.recordAttempt(d.id, {
        state: 'failed',
        status: null,
        error: `event ${d.event_seq} is no longer in the outbox`,
        latency_ms: 0,
        at,
        next_attempt_at: null,
      });
      this.opts.onDeliveryFailure?.(h.id);
      return;
    }
    const { headers, body } = compose(h, record.event, eventId(d.event_seq), at);
    const r = await send(h.url, headers, body, { allowPrivate: this.o.allowPrivate, timeoutMs: this.o.attemptTimeoutMs, signal: this.stopping.signal });
    // Stopped mid-call: no verdict; the delivery stays pending for the next start.
    if (this.stopping.signal.aborted && !r.ok) return;
    const attempts = d.attempts + 1;
    const failed = !r.ok && (r.refused || attempts >= this.o.maxAttempts);
    const next = r.ok || failed ? null : this.now() + this.backoff(attempts);
    await this.store.read.webhooks.recordAttempt(d.id, {
      state: r.ok ? 'delivered' : failed ? 'failed' : 'pending',
      status: r.status,
      error: r.error,
      latency_ms: r.latencyMs,
      at: this.now(),
      next_attempt_at: next,
    });
    if (failed) this.opts.onDeliveryFailure?.(h.id);
    if (next !== null) this.retryAt(next);
  }

  private backoff(attempts: number): number {
    return Math.floor(this.o.random() * Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempts - 1)));
  }

  /** One timer for the earliest due retry; the poll covers anything later. */
  private retryAt(at: number): void {
    if (this.stopping.signal.aborted || (this.retry && this.retry.at <= at)) return;
    if (this.retry) clearTimeout(this.retry.timer);
    const timer = setTimeout(
      () => {
        this.retry = undefined;
        this.wake();
      },
      Math.max(0, at - this.now()),
    );
    timer.unref();
    this.retry = { timer, at };
  }
}

export function deliveryId(): string {
  return `dlv_${randomBytes(13).toString('hex')}`;
}
