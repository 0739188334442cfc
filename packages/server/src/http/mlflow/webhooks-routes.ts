import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { type BerthEvent, eventMatches } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import type { WebhookRecord } from '../../registry/webhooks-service.js';
import { MLFLOW_EVENTS } from '../../webhooks/mlflow-payload.js';
import { actorOf } from '../actor.js';
import { MlflowError } from './errors.js';
import { OptStr, Required, mlflowRoute } from './params.js';

const mlflowActor = (req: FastifyRequest) => actorOf(req, 'mlflow');

/** An MLflow WebhookEvent on the wire (proto JSON): enum names, `MODEL_VERSION` / `CREATED`. */
const EventArg = Type.Object({ entity: Type.String(), action: Type.String() });
const EventList = Type.Optional(Type.Array(EventArg));
const Status = OptStr;

/** `ACTIVE` → true, `DISABLED` → false, absent → undefined. */
function activeOf(status: string | undefined): boolean | undefined {
  if (status === undefined || status === '') return undefined;
  if (status !== 'ACTIVE' && status !== 'DISABLED')
    throw new MlflowError('INVALID_PARAMETER_VALUE', 400, `Invalid webhook status ${JSON.stringify(status)}: ACTIVE or DISABLED`);
  return status === 'ACTIVE';
}

const SUPPORTED = Object.keys(MLFLOW_EVENTS)
  .map((e) => e.toUpperCase().replace('.', '/'))
  .join(', ');

/** MLflow events → the Berth event types stored on the webhook; an event Berth never sends is refused. */
function berthEvents(events: Static<typeof EventArg>[]): string[] {
  if (events.length === 0) throw new MlflowError('INVALID_PARAMETER_VALUE', 400, 'Webhook events cannot be empty');
  return events.map((e) => {
    const key = `${e.entity.toLowerCase()}.${e.action.toLowerCase()}`;
    const type = MLFLOW_EVENTS[key];
    if (!type) throw new MlflowError('INVALID_PARAMETER_VALUE', 400, `Berth does not send webhook event ${e.entity}/${e.action}; it sends ${SUPPORTED}`);
    return type;
  });
}

/** The MLflow events a webhook receives: each MLflow event whose Berth type its subscriptions match. */
function mlflowEvents(w: WebhookRecord): { entity: string; action: string }[] {
  return Object.entries(MLFLOW_EVENTS)
    .filter(([, type]) => eventMatches(w.events, type))
    .map(([m]) => {
      const [entity, action] = m.split('.') as [string, string];
      return { entity: entity.toUpperCase(), action: action.toUpperCase() };
    });
}

function mlflowWebhook(w: WebhookRecord): Record<string, unknown> {
  return {
    webhook_id: w.id,
    name: w.name ?? w.id,
    ...(w.description ? { description: w.description } : {}),
    url: w.url,
    events: mlflowEvents(w),
    status: w.active ? 'ACTIVE' : 'DISABLED',
    creation_timestamp: w.created_at,
    last_updated_timestamp: w.updated_at,
  };
}

/** The made-up event of a test send, with the example values of MLflow's own test payloads. */
function exampleEvent(type: string, at: number, actor: string): BerthEvent {
  return {
    seq: 1,
    type,
    timestamp: new Date(at).toISOString(),
    actor,
    model: 'example_model',
    subject: 'example_model',
    reason: 'test delivery',
    data: {
      alias: 'example_alias',
      version: 1,
      after: { source: 'models:/123', run_id: 'abcd1234abcd5678', tags: { example_key: 'example_value' }, description: 'An example model version' },
    },
  };
}

const WebhookParams = (req: FastifyRequest) => (req.params as { webhook_id: string }).webhook_id;

/**
 * MLflow 3's WebhookService (mlflow/protos/webhooks.proto) onto the registry's webhooks: the
 * same subscriptions, delivery log and dispatcher as the native API. A webhook made here is
 * delivered in MLflow's format (body and X-MLflow-* headers, webhooks/message.ts) so receivers
 * written for MLflow verify it unchanged.
 */
export function webhookRoutes(app: FastifyInstance, registry: Registry): void {
  const create = Type.Object({ name: Required, description: OptStr, url: Required, events: EventList, secret: OptStr, status: Status });
  mlflowRoute(app, 'POST', '/webhooks', create, async (a, req) => {
    const w = await registry.webhooks.create(
      mlflowActor(req),
      {
        url: a.url,
        events: berthEvents(a.events ?? []),
        ...(a.secret !== undefined ? { secret: a.secret } : {}),
        description: a.description ?? null,
        active: activeOf(a.status) ?? true,
      },
      { name: a.name },
    );
    return { webhook: mlflowWebhook(w) };
  });

  const list = Type.Object({
    max_results: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, message: "Parameter 'max_results' must be between 1 and 1000." })),
    page_token: OptStr,
  });
  mlflowRoute(app, 'GET', '/webhooks', list, async (a, req) => {
    const page = await registry.webhooks.list(mlflowActor(req), { limit: a.max_results ?? 100, ...(a.page_token ? { cursor: a.page_token } : {}) });
    return { webhooks: page.items.map(mlflowWebhook), ...(page.next_cursor ? { next_page_token: page.next_cursor } : {}) };
  });

  mlflowRoute(app, 'GET', '/webhooks/:webhook_id', Type.Object({}), async (_a, req) => ({
    webhook: mlflowWebhook(await registry.webhooks.get(mlflowActor(req), WebhookParams(req))),
  }));

  const update = Type.Object({
    webhook_id: OptStr,
    name: OptStr,
    description: OptStr,
    url: OptStr,
    events: EventList,
    secret: OptStr,
    status: Status,
  });
  mlflowRoute(app, 'PATCH', '/webhooks/:webhook_id', update, async (a, req) => {
    const w = await registry.webhooks.update(mlflowActor(req), WebhookParams(req), {
      ...(a.name ? { name: a.name } : {}),
      ...(a.description !== undefined ? { description: a.description } : {}),
      ...(a.url ? { url: a.url } : {}),
      ...(a.events?.length ? { events: berthEvents(a.events) } : {}),
      ...(a.secret !== undefined ? { secret: a.secret } : {}),
      ...(activeOf(a.status) !== undefined ? { active: activeOf(a.status) } : {}),
    });
    return { webhook: mlflowWebhook(w) };
  });

  mlflowRoute(app, 'DELETE', '/webhooks/:webhook_id', Type.Object({ webhook_id: OptStr }), async (_a, req) => {
    await registry.webhooks.delete(mlflowActor(req), WebhookParams(req));
    return {};
  });

  const test = Type.Object({ webhook_id: OptStr, event: Type.Optional(EventArg) });
  mlflowRoute(app, 'POST', '/webhooks/:webhook_id/test', test, async (a, req) => {
    const actor = mlflowActor(req);
    const w = await registry.webhooks.get(actor, WebhookParams(req));
    // MLflow tests with the given event, else the webhook's first one.
    const type = a.event ? berthEvents([a.event])[0] : Object.values(MLFLOW_EVENTS).find((t) => eventMatches(w.events, t));
    const r = await registry.webhooks.test(actor, w.id, exampleEvent(type ?? 'webhook.test', registry.deps.clock.now(), actor.name));
    return {
      result: {
        success: r.ok,
        ...(r.status !== null ? { response_status: r.status } : {}),
        ...(r.body ? { response_body: r.body } : {}),
        ...(r.error && !r.ok && r.status === null ? { error_message: r.error } : {}),
      },
    };
  });
}
