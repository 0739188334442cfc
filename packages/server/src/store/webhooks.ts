import type { Kysely, Selectable } from 'kysely';
import type { Database, WebhookAttemptsTable, WebhookDeliveriesTable, WebhooksTable } from './schema.js';
import { nullableNumber, parseJson, toJson } from './json.js';

export type WebhookFlavor = 'standard' | 'mlflow';
export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** A subscription as stored; `secret` never leaves the registry except in the answer that creates it. */
export interface WebhookRecord {
  id: string;
  url: string;
  events: string[];
  secret: string;
  description: string | null;
  active: boolean;
  flavor: WebhookFlavor;
  /** The MLflow name of a webhook made through the MLflow API. */
  name: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface DeliveryRecord {
  n: number;
  id: string;
  webhook_id: string;
  event_seq: number;
  event_type: string;
  state: DeliveryState;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  latency_ms: number | null;
  next_attempt_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

export interface AttemptRecord {
  at: number;
  status: number | null;
  error: string | null;
  latency_ms: number;
}

/** A webhook with its dispatch row: where its cursor stands and who holds its lease. */
export interface DispatchRecord extends WebhookRecord {
  cursor: number;
  lease_owner: string | null;
  lease_until: number;
}

function toWebhook(row: Selectable<WebhooksTable>): WebhookRecord {
  return {
    id: row.id,
    url: row.url,
    events: parseJson<string[]>(row.events, []),
    secret: row.secret,
    description: row.description,
    active: Number(row.active) === 1,
    flavor: row.flavor === 'mlflow' ? 'mlflow' : 'standard',
    name: row.name,
    created_by: row.created_by,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): DeliveryRecord {
  return {
    n: Number(row.n),
    id: row.id,
    webhook_id: row.webhook_id,
    event_seq: Number(row.event_seq),
    event_type: row.event_type,
    state: row.state as DeliveryState,
    attempts: Number(row.attempts),
    last_status: nullableNumber(row.last_status),
    last_error: row.last_error,
    latency_ms: nullableNumber(row.latency_ms),
    next_attempt_at: nullableNumber(row.next_attempt_at),
    created_at: Number(row.created_at),
    delivered_at: nullableNumber(row.delivered_at),
  };
}

function toAttempt(row: Selectable<WebhookAttemptsTable>): AttemptRecord {
  return { at: Number(row.at), status: nullableNumber(row.status), error: row.error, latency_ms: Number(row.latency_ms) };
}

export interface NewDelivery {
  id: string;
  webhook_id: string;
  event_seq: number;
  event_type: string;
  created_at: number;
}

/** What one attempt changed on its delivery. */
export interface AttemptOutcome {
  state: DeliveryState;
  status: number | null;
  error: string | null;
  latency_ms: number;
  at: number;
  next_attempt_at: number | null;
}

/** Webhooks, their dispatch cursors and leases, deliveries and attempts (migration 0008). */
export class WebhookRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts the subscription and its dispatch row: deliveries start after `cursor`. */
  async insert(w: WebhookRecord, cursor: number): Promise<void> {
    await this.db
      .insertInto('webhooks')
      .values({ ...w, events: toJson(w.events), active: w.active ? 1 : 0 })
      .execute();
    await this.db.insertInto('webhook_dispatch').values({ webhook_id: w.id, cursor, lease_owner: null, lease_until: 0 }).execute();
  }

  async update(w: WebhookRecord): Promise<void> {
    await this.db
      .updateTable('webhooks')
      .set({
        url: w.url,
        events: toJson(w.events),
        secret: w.secret,
        description: w.description,
        active: w.active ? 1 : 0,
        name: w.name,
        updated_at: w.updated_at,
      })
      .where('id', '=', w.id)
      .execute();
  }

  /** Moves the cursor (a webhook switched back on starts from now, not from its backlog). */
  async setCursor(id: string, cursor: number): Promise<void> {
    await this.db.updateTable('webhook_dispatch').set({ cursor }).where('webhook_id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    const deliveries = this.db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', id);
    await this.db.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
    await this.db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    await this.db.deleteFrom('webhook_dispatch').where('webhook_id', '=', id).execute();
    await this.db.deleteFrom('webhooks').where('id', '=', id).execute();
  }

  async find(id: string): Promise<WebhookRecord | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWebhook(row);
  }

  /** Webhooks in id order after `afterId`, at most `limit`. */
  async list(opts: { afterId?: string; limit: number; flavor?: WebhookFlavor }): Promise<WebhookRecord[]> {
    let q = this.db.selectFrom('webhooks').selectAll().orderBy('id').limit(opts.limit);
    if (opts.afterId !== undefined) q = q.where('id', '>', opts.afterId);
    if (opts.flavor !== undefined) q = q.where('flavor', '=', opts.flavor);
    return (await q.execute()).map(toWebhook);
  }

  /** Every active webhook with its cursor and lease: the dispatcher's round. */
  async listActive(): Promise<DispatchRecord[]> {
    const rows = await this.db
      .selectFrom('webhooks')
      .innerJoin('webhook_dispatch', 'webhook_dispatch.webhook_id', 'webhooks.id')
      .selectAll('webhooks')
      .select(['webhook_dispatch.cursor', 'webhook_dispatch.lease_owner', 'webhook_dispatch.lease_until'])
      .where('webhooks.active', '=', 1)
      .orderBy('webhooks.id')
      .execute();
    return rows.map((r) => ({ ...toWebhook(r), cursor: Number(r.cursor), lease_owner: r.lease_owner, lease_until: Number(r.lease_until) }));
  }

  /**
   * Takes (or renews) the lease when it is free, expired or already `owner`'s: one statement,
   * so of several servers racing exactly one gets it.
   */
  async acquireLease(id: string, owner: string, now: number, until: number): Promise<boolean> {
    const r = await this.db
      .updateTable('webhook_dispatch')
      .set({ lease_owner: owner, lease_until: until })
      .where('webhook_id', '=', id)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable('webhook_dispatch')
      .set({ lease_owner: null, lease_until: 0 })
      .where('webhook_id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /**
   * Advances the cursor from `from` to `to` while `owner` holds the lease; false when another
   * server moved it or took the lease (then the deliveries inserted beside it must roll back).
   */
  async advanceCursor(id: string, owner: string, from: number, to: number): Promise<boolean> {
    const r = await this.db
      .updateTable('webhook_dispatch')
      .set({ cursor: to })
      .where('webhook_id', '=', id)
      .where('cursor', '=', from)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async insertDeliveries(ds: readonly NewDelivery[]): Promise<void> {
    if (ds.length === 0) return;
    await this.db
      .insertInto('webhook_deliveries')
      .values(ds.map((d) => ({ ...d, state: 'pending', attempts: 0, next_attempt_at: d.created_at })))
      .execute();
  }

  /** The delivery an endpoint waits on: its oldest pending one (deliveries go out in order). */
  async nextPending(webhookId: string): Promise<DeliveryRecord | undefined> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('state', '=', 'pending')
      .orderBy('n')
      .limit(1)
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  /** Records an attempt and its outcome on the delivery. */
  async recordAttempt(id: string, o: AttemptOutcome): Promise<void> {
    await this.db.insertInto('webhook_attempts').values({ delivery_id: id, at: o.at, status: o.status, error: o.error, latency_ms: o.latency_ms }).execute();
    await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        state: o.state,
        attempts: eb('attempts', '+', 1),
        last_status: o.status,
        last_error: o.error,
        latency_ms: o.latency_ms,
        next_attempt_at: o.next_attempt_at,
        delivered_at: o.state === 'delivered' ? o.at : null,
      }))
      .where('id', '=', id)
      .execute();
  }

  async findDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const row = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toDelivery(row);
  }

  /** Deliveries of a webhook, newest first, before position `beforeN`. */
  async listDeliveries(webhookId: string, opts: { state?: DeliveryState; beforeN?: number; limit: number }): Promise<DeliveryRecord[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('n', 'desc').limit(opts.limit);
    if (opts.state !== undefined) q = q.where('state', '=', opts.state);
    if (opts.beforeN !== undefined) q = q.where('n', '<', opts.beforeN);
    return (await q.execute()).map(toDelivery);
  }

  async attempts(deliveryId: string): Promise<AttemptRecord[]> {
    const rows = await this.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('id').execute();
    return rows.map(toAttempt);
  }

  /** The cursor of the active webhook furthest behind, or undefined when none is active. */
  async slowestCursor(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('webhook_dispatch')
      .innerJoin('webhooks', 'webhooks.id', 'webhook_dispatch.webhook_id')
      .select((eb) => eb.fn.min('webhook_dispatch.cursor').as('cursor'))
      .where('webhooks.active', '=', 1)
      .executeTakeFirst();
    return row?.cursor == null ? undefined : Number(row.cursor);
  }
}
