import { randomBytes } from 'node:crypto';
import { BerthError, invalid, notFound, validateEventFilters, type BerthEvent } from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState, WebhookFlavor, WebhookRecord } from '../store/webhooks.js';
import { deliveryId } from '../webhooks/dispatcher.js';
import { compose } from '../webhooks/message.js';
import { send, type SendResult } from '../webhooks/sender.js';
import { isStandardSecret, newSecret } from '../webhooks/signature.js';
import { recordChange } from './changes.js';
import { requireRole, type Actor } from './actor.js';
import { Keyset } from './paging.js';
import type { RegistryDeps } from './deps.js';
import type { ResultPage } from './results.js';

/** What the fronts map to their wire shapes. */
export type { DeliveryRecord, WebhookRecord };

export interface CreateWebhook {
  url: string;
  events?: string[];
  secret?: string;
  description?: string | null;
  active?: boolean;
}

export interface UpdateWebhook {
  url?: string;
  events?: string[];
  description?: string | null;
  active?: boolean;
  /** MLflow's UpdateWebhook may replace the secret and the name. */
  secret?: string;
  name?: string;
}

/** A webhook made through the MLflow API: its name, and a secret used as MLflow uses it (any text). */
export interface MlflowWebhookFields {
  name: string;
}

export interface DeliveryView extends DeliveryRecord {
  attempts_log?: AttemptRecord[];
}

const TEST_TIMEOUT_MS = 10_000;

/** `http(s)://host…` without credentials; anything else is refused, naming what is wrong. */
export function checkWebhookUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(`webhook url ${JSON.stringify(raw)} is not a URL: give http(s)://host/path`, { field: 'url' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw invalid(`webhook url must be http or https, not ${u.protocol.replace(/:$/, '')}: ${JSON.stringify(raw)}`, { field: 'url' });
  if (u.username || u.password) throw invalid('webhook url must not carry credentials (user:password@); sign with the secret instead', { field: 'url' });
  if (!u.hostname) throw invalid(`webhook url ${JSON.stringify(raw)} has no host`, { field: 'url' });
  return u.href;
}

/** What the audit trail and the event stream say about a webhook: never its secret. */
function publicState(w: WebhookRecord): Record<string, unknown> {
  return { url: w.url, events: w.events, description: w.description, active: w.active, ...(w.name !== null ? { name: w.name } : {}) };
}

/**
 * Webhook subscriptions (admin only: a webhook sends registry events to any URL), their
 * delivery log, replays and test sends. Delivering is the dispatcher's job (webhooks/).
 */
export class WebhookService {
  constructor(private readonly deps: RegistryDeps) {}

  private get allowPrivate(): boolean {
    return this.deps.config.webhookAllowPrivate ?? false;
  }

  /** Registers a webhook; it receives the events committed after it. The answer is the only one carrying the secret. */
  async create(actor: Actor, body: CreateWebhook, mlflow?: MlflowWebhookFields): Promise<WebhookRecord> {
    requireRole(actor, 'admin', 'registering a webhook');
    const flavor: WebhookFlavor = mlflow ? 'mlflow' : 'standard';
    const url = checkWebhookUrl(body.url);
    const events = validateEventFilters(body.events ?? []);
    let secret = body.secret;
    if (secret === undefined || (flavor === 'mlflow' && secret === '')) secret = flavor === 'mlflow' ? '' : newSecret();
    else if (flavor === 'standard' && !isStandardSecret(secret))
      throw invalid('secret must be whsec_ followed by 24 to 64 bytes in base64 (Standard Webhooks); leave it out to have one generated', {
        field: 'secret',
      });
    const now = this.deps.clock.now();
    const w: WebhookRecord = {
      id: `wh_${randomBytes(13).toString('hex')}`,
      url,
      events,
      secret,
      description: body.description?.trim() ? body.description.trim() : null,
      active: body.active ?? true,
      flavor,
      name: mlflow?.name ?? null,
      created_by: actor.name,
      created_at: now,
      updated_at: now,
    };
    await this.deps.store.transaction(async (tx) => {
      const e = await recordChange(tx, actor, now, { action: 'webhook.create', subject: { type: 'webhook', id: w.id }, after: publicState(w) });
      // Starts after its own creation: a new subscriber is not sent the history before it.
      await tx.webhooks.insert(w, e.seq);
    });
    return w;
  }

  async list(actor: Actor, opts: { cursor?: string; limit?: unknown; flavor?: WebhookFlavor }): Promise<ResultPage<WebhookRecord>> {
    requireRole(actor, 'admin', 'listing webhooks');
    const keyset = new Keyset(opts, 'w', String);
    return keyset.page(await this.deps.store.read.webhooks.list({ afterId: keyset.after, limit: keyset.fetch, flavor: opts.flavor }), (w) => w.id);
  }

  async get(actor: Actor, id: string): Promise<WebhookRecord> {
    requireRole(actor, 'admin', 'reading a webhook');
    return this.require(this.deps.store.read, id);
  }

  async update(actor: Actor, id: string, patch: UpdateWebhook): Promise<WebhookRecord> {
    requireRole(actor, 'admin', 'changing a webhook');
    const url = patch.url === undefined ? undefined : checkWebhookUrl(patch.url);
    const events = patch.events === undefined ? undefined : validateEventFilters(patch.events);
    const now = this.deps.clock.now();
    return this.deps.store.transaction(async (tx) => {
      const old = await this.require(tx, id);
      if (patch.secret !== undefined && old.flavor === 'standard' && !isStandardSecret(patch.secret))
        throw invalid('secret must be whsec_ followed by 24 to 64 bytes in base64 (Standard Webhooks)', { field: 'secret' });
      const w: WebhookRecord = {
        ...old,
        url: url ?? old.url,
        events: events ?? old.events,
        description: patch.description === undefined ? old.description : patch.description?.trim() ? patch.description.trim() : null,
        active: patch.active ?? old.active,
        secret: patch.secret ?? old.secret,
        name: patch.name ?? old.name,
        updated_at: now,
      };
      const e = await recordChange(tx, actor, now, {
        action: 'webhook.update',
        subject: { type: 'webhook', id },
        before: publicState(old),
        after: { ...publicState(w), ...(patch.secret !== undefined ? { secret_changed: true } : {}) },
      });
      await tx.webhooks.update(w);
      // Switched back on: it resumes from now; what happened while it was off is not sent.
      if (w.active && !old.active) await tx.webhooks.setCursor(id, e.seq);
      return w;
    });
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin', 'deleting a webhook');
    await this.deps.store.transaction(async (tx) => {
      const old = await this.require(tx, id);
      await recordChange(tx, actor, this.deps.clock.now(), { action: 'webhook.delete', subject: { type: 'webhook', id }, before: publicState(old) });
      await tx.webhooks.delete(id);
    });
  }

  /** The delivery log of a webhook, newest first. */
  async deliveries(actor: Actor, id: string, opts: { cursor?: string; limit?: unknown; state?: string }): Promise<ResultPage<DeliveryRecord>> {
    requireRole(actor, 'admin', 'reading webhook deliveries');
    if (opts.state !== undefined && !['pending', 'delivered', 'failed'].includes(opts.state))
      throw invalid(`state must be pending, delivered or failed, not ${JSON.stringify(opts.state)}`, { field: 'state' });
    const keyset = new Keyset(opts, 'n', Number);
    const tx = this.deps.store.read;
    await this.require(tx, id);
    const rows = await tx.webhooks.listDeliveries(id, { state: opts.state as DeliveryState | undefined, beforeN: keyset.after, limit: keyset.fetch });
    return keyset.page(rows, (d) => d.n);
  }

  async delivery(actor: Actor, id: string): Promise<DeliveryView> {
    requireRole(actor, 'admin', 'reading a webhook delivery');
    const d = await this.requireDelivery(this.deps.store.read, id);
    return { ...d, attempts_log: await this.deps.store.read.webhooks.attempts(id) };
  }

  /**
   * Sends an event again: a new delivery of the same event (the same `webhook-id`, so a receiver
   * that already has it can tell), queued behind the webhook's pending deliveries.
   */
  async replay(actor: Actor, id: string): Promise<DeliveryRecord> {
    requireRole(actor, 'admin', 'replaying a webhook delivery');
    const now = this.deps.clock.now();
    const newId = deliveryId();
    await this.deps.store.transaction(async (tx) => {
      const d = await this.requireDelivery(tx, id);
      if (!(await tx.events.find(d.event_seq)))
        throw new BerthError('FAILED_PRECONDITION', `event ${d.event_seq} of delivery ${id} is no longer in the outbox`, { delivery: id });
      await recordChange(tx, actor, now, {
        action: 'webhook.replay',
        subject: { type: 'webhook', id: d.webhook_id },
        after: { delivery: newId, replay_of: id, event_seq: d.event_seq },
      });
      await tx.webhooks.insertDeliveries([{ id: newId, webhook_id: d.webhook_id, event_seq: d.event_seq, event_type: d.event_type, created_at: now }]);
    });
    return this.requireDelivery(this.deps.store.read, newId);
  }

  /**
   * Sends one made-up event to the webhook now and reports what the receiver answered. Not in
   * the delivery log and not retried: it checks the URL, the secret and the guard, nothing more.
   */
  async test(actor: Actor, id: string, event?: BerthEvent): Promise<SendResult> {
    requireRole(actor, 'admin', 'testing a webhook');
    const w = await this.require(this.deps.store.read, id);
    const now = this.deps.clock.now();
    const e: BerthEvent = event ?? {
      seq: 1,
      type: 'webhook.test',
      timestamp: new Date(now).toISOString(),
      actor: actor.name,
      model: null,
      subject: id,
      reason: 'test delivery',
      data: {},
    };
    const { headers, body } = compose(w, e, `evt_test_${randomBytes(8).toString('hex')}`, now);
    return send(w.url, headers, body, { allowPrivate: this.allowPrivate, timeoutMs: TEST_TIMEOUT_MS });
  }

  private async require(tx: StoreTx, id: string): Promise<WebhookRecord> {
    const w = await tx.webhooks.find(id);
    if (!w) throw notFound(`webhook ${JSON.stringify(id)} not found: list webhooks with \`berth webhook ls\``, { webhook: id });
    return w;
  }

  private async requireDelivery(tx: StoreTx, id: string): Promise<DeliveryRecord> {
    const d = await tx.webhooks.findDelivery(id);
    if (!d) throw notFound(`delivery ${JSON.stringify(id)} not found: list deliveries with \`berth webhook deliveries <webhook>\``, { delivery: id });
    return d;
  }
}
