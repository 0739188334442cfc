import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  CreateWebhookBody,
  DeliveryDetailSchema,
  DeliverySchema,
  PageSchema,
  UpdateWebhookBody,
  WebhookSchema,
  WebhookTestResultSchema,
  isoTime,
  type Delivery,
  type DeliveryDetail,
  type Webhook,
} from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import type { DeliveryRecord, DeliveryView, WebhookRecord } from '../../registry/webhooks-service.js';
import { actorOf } from '../actor.js';
import { toWirePage } from './wire.js';

function toWireWebhook(w: WebhookRecord, withSecret = false): Webhook {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    active: w.active,
    created_by: w.created_by,
    created_at: isoTime(w.created_at),
    updated_at: isoTime(w.updated_at),
    ...(withSecret ? { secret: w.secret } : {}),
  };
}

function toWireDelivery(d: DeliveryRecord): Delivery {
  return {
    id: d.id,
    webhook: d.webhook_id,
    event_seq: d.event_seq,
    event_type: d.event_type,
    state: d.state,
    attempts: d.attempts,
    last_status: d.last_status,
    last_error: d.last_error,
    latency_ms: d.latency_ms,
    next_attempt_at: d.state === 'pending' && d.next_attempt_at !== null ? isoTime(d.next_attempt_at) : null,
    created_at: isoTime(d.created_at),
    delivered_at: d.delivered_at === null ? null : isoTime(d.delivered_at),
  };
}

function toWireDeliveryDetail(d: DeliveryView): DeliveryDetail {
  return {
    ...toWireDelivery(d),
    attempts_log: (d.attempts_log ?? []).map((a) => ({ at: isoTime(a.at), status: a.status, error: a.error, latency_ms: a.latency_ms })),
  };
}

const IdParams = Type.Object({ id: Type.String() });
const NoBody = Type.Object({}, { additionalProperties: false });
const Paging = {
  cursor: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
};

/** Webhook subscriptions, their delivery log and replays (admin only). */
export function webhookRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Body: CreateWebhookBody }>(
    '/webhooks',
    {
      schema: {
        summary: 'Register a webhook (Standard Webhooks signatures); the answer is the only one carrying its secret',
        tags: ['webhooks'],
        body: CreateWebhookBody,
        response: { 201: WebhookSchema },
      },
    },
    async (req, reply) => reply.code(201).send(toWireWebhook(await registry.webhooks.create(actorOf(req), req.body), true)),
  );

  app.get<{ Querystring: { cursor?: string; limit?: number } }>(
    '/webhooks',
    { schema: { summary: 'List webhooks', tags: ['webhooks'], querystring: Type.Object(Paging), response: { 200: PageSchema(WebhookSchema) } } },
    async (req) => toWirePage(await registry.webhooks.list(actorOf(req), req.query), (w) => toWireWebhook(w)),
  );

  app.get<{ Params: { id: string } }>(
    '/webhooks/:id',
    { schema: { summary: 'Get a webhook', tags: ['webhooks'], params: IdParams, response: { 200: WebhookSchema } } },
    async (req) => toWireWebhook(await registry.webhooks.get(actorOf(req), req.params.id)),
  );

  app.patch<{ Params: { id: string }; Body: UpdateWebhookBody }>(
    '/webhooks/:id',
    {
      schema: {
        summary: 'Change a webhook (url, events, description, active)',
        tags: ['webhooks'],
        params: IdParams,
        body: UpdateWebhookBody,
        response: { 200: WebhookSchema },
      },
    },
    async (req) => toWireWebhook(await registry.webhooks.update(actorOf(req), req.params.id, req.body)),
  );

  app.delete<{ Params: { id: string } }>(
    '/webhooks/:id',
    { schema: { summary: 'Delete a webhook and its delivery log', tags: ['webhooks'], params: IdParams, response: { 204: Type.Null() } } },
    async (req, reply) => {
      await registry.webhooks.delete(actorOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/webhooks/:id/test',
    {
      schema: {
        summary: 'Send a made-up webhook.test event now and report the answer (not logged, not retried)',
        tags: ['webhooks'],
        params: IdParams,
        optionalBody: NoBody,
        response: { 200: WebhookTestResultSchema },
      },
    },
    async (req) => {
      const r = await registry.webhooks.test(actorOf(req), req.params.id);
      return { success: r.ok, status: r.status, error: r.error, latency_ms: r.latencyMs };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit?: number; state?: string } }>(
    '/webhooks/:id/deliveries',
    {
      schema: {
        summary: 'The delivery log of a webhook, newest first',
        tags: ['webhooks'],
        params: IdParams,
        querystring: Type.Object({ ...Paging, state: Type.Optional(Type.String()) }),
        response: { 200: PageSchema(DeliverySchema) },
      },
    },
    async (req) => toWirePage(await registry.webhooks.deliveries(actorOf(req), req.params.id, req.query), toWireDelivery),
  );

  app.get<{ Params: { id: string } }>(
    '/deliveries/:id',
    { schema: { summary: 'A delivery with every attempt', tags: ['webhooks'], params: IdParams, response: { 200: DeliveryDetailSchema } } },
    async (req) => toWireDeliveryDetail(await registry.webhooks.delivery(actorOf(req), req.params.id)),
  );

  app.post<{ Params: { id: string } }>(
    '/deliveries/:id/replay',
    {
      schema: {
        summary: 'Send the event of a delivery again (a new delivery, the same webhook-id)',
        tags: ['webhooks'],
        params: IdParams,
        optionalBody: NoBody,
        response: { 201: DeliverySchema },
      },
    },
    async (req, reply) => reply.code(201).send(toWireDelivery(await registry.webhooks.replay(actorOf(req), req.params.id))),
  );
}
