import { Type, type Static } from '@sinclair/typebox';
import { invalid } from './errors.js';
import { KNOWN_EVENT_TYPES } from './events.js';

/**
 * Event families whose names their own features define (promotions, policies, tokens,
 * webhooks): a subscription may name any type under them, or the family with `prefix.*`.
 */
export const GOVERNANCE_EVENT_PREFIXES: readonly string[] = ['promotion', 'policy', 'token', 'webhook'];

const families = (): Set<string> => new Set([...KNOWN_EVENT_TYPES.map((t) => t.slice(0, t.indexOf('.'))), ...GOVERNANCE_EVENT_PREFIXES]);

/**
 * Checks the event types a webhook subscribes to: `*`, a family (`alias.*`), a known type
 * (`alias.moved`), or any type of a governance family (`promotion.passed`). The empty list
 * means everything. Throws INVALID_ARGUMENT naming the first unknown one.
 */
export function validateEventFilters(filters: readonly string[]): string[] {
  const known = families();
  for (const f of filters) {
    const family = f.endsWith('.*') ? f.slice(0, -2) : f.slice(0, Math.max(0, f.indexOf('.')));
    const ok =
      f === '*' ||
      (f.endsWith('.*') ? known.has(family) : KNOWN_EVENT_TYPES.includes(f) || (GOVERNANCE_EVENT_PREFIXES.includes(family) && /^[a-z_]+\.[a-z_.]+$/.test(f)));
    if (!ok) {
      throw invalid(`unknown event type ${JSON.stringify(f)}: use *, a family such as alias.*, or one of ${KNOWN_EVENT_TYPES.join(', ')}`, {
        field: 'events',
        value: f,
      });
    }
  }
  return filters.length === 0 ? ['*'] : [...new Set(filters)];
}

/** Whether an event of `type` goes to a webhook subscribed to `filters`. */
export function eventMatches(filters: readonly string[], type: string): boolean {
  return filters.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}

const Str = Type.String();
const NullableStr = Type.Union([Type.String(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const strict = { additionalProperties: false } as const;

export const WebhookSchema = Type.Object({
  id: Str,
  url: Str,
  events: Type.Array(Str),
  description: NullableStr,
  active: Type.Boolean(),
  created_by: Str,
  created_at: Time,
  updated_at: Time,
  /** Only in the answer that creates the webhook. */
  secret: Type.Optional(Str),
});
export type Webhook = Static<typeof WebhookSchema>;

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    events: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 })),
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(NullableStr),
    active: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    events: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 })),
    description: Type.Optional(NullableStr),
    active: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>;

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;

export const DeliverySchema = Type.Object({
  id: Str,
  webhook: Str,
  event_seq: Type.Integer(),
  event_type: Str,
  state: Type.Union(DELIVERY_STATES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  last_status: NullableInt,
  last_error: NullableStr,
  latency_ms: NullableInt,
  next_attempt_at: NullableTime,
  created_at: Time,
  delivered_at: NullableTime,
});
export type Delivery = Static<typeof DeliverySchema>;

export const DeliveryAttemptSchema = Type.Object({ at: Time, status: NullableInt, error: NullableStr, latency_ms: Type.Integer() });
export const DeliveryDetailSchema = Type.Composite([DeliverySchema, Type.Object({ attempts_log: Type.Array(DeliveryAttemptSchema) })]);
export type DeliveryDetail = Static<typeof DeliveryDetailSchema>;

/** The answer of a test send: made at once, outside the delivery log. */
export const WebhookTestResultSchema = Type.Object({ success: Type.Boolean(), status: NullableInt, error: NullableStr, latency_ms: Type.Integer() });
export type WebhookTestResult = Static<typeof WebhookTestResultSchema>;
