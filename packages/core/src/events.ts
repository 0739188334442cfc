import { Type, type Static } from '@sinclair/typebox';

/**
 * What subscribers (webhooks, the event stream) are told, one per state change. The name of an
 * event is the past tense of the audit action that caused it: an audit trail says what was
 * done, an event says what happened.
 */
const EVENT_TYPES: Readonly<Record<string, string>> = {
  'alias.set': 'alias.moved',
  'alias.delete': 'alias.deleted',
  'alias.freeze': 'alias.frozen',
  'alias.unfreeze': 'alias.unfrozen',
  'model.create': 'model.created',
  'model.update': 'model.updated',
  'model.rename': 'model.renamed',
  'model.delete': 'model.deleted',
  'version.create': 'version.created',
  'version.update': 'version.updated',
  'version.delete': 'version.deleted',
  'version.stage': 'version.stage_changed',
  'experiment.create': 'experiment.created',
  'experiment.rename': 'experiment.renamed',
  'experiment.delete': 'experiment.deleted',
  'experiment.restore': 'experiment.restored',
  'run.create': 'run.created',
  'run.update': 'run.updated',
  'run.delete': 'run.deleted',
  'run.restore': 'run.restored',
  'logged_model.create': 'logged_model.created',
  'logged_model.update': 'logged_model.updated',
  'blobs.gc': 'blobs.collected',
  // Governance actions are named as outcomes already: they publish under their own names.
  'evaluation.recorded': 'evaluation.recorded',
  'policy.applied': 'policy.applied',
  'promotion.passed': 'promotion.passed',
  'promotion.failed': 'promotion.failed',
  'promotion.pending': 'promotion.pending',
  'promotion.approved': 'promotion.approved',
  'promotion.rejected': 'promotion.rejected',
  'promotion.stale': 'promotion.stale',
  'promotion.rolled_back': 'promotion.rolled_back',
  // Deployments (decision 0023): what was applied, each rollout decision, and what gateways served.
  'deployment.applied': 'deployment.applied',
  'deployment.deleted': 'deployment.deleted',
  'deployment.rollout_started': 'deployment.rollout_started',
  'deployment.step_advanced': 'deployment.step_advanced',
  'deployment.held': 'deployment.held',
  'deployment.aborted': 'deployment.aborted',
  'deployment.completed': 'deployment.completed',
  'deployment.served': 'deployment.served',
  'token.create': 'token.created',
  'token.revoke': 'token.revoked',
  'webhook.create': 'webhook.created',
  'webhook.update': 'webhook.updated',
  'webhook.delete': 'webhook.deleted',
  'webhook.replay': 'webhook.replayed',
};

/** The event type an audit action publishes; an action without an entry publishes under its own name. */
export function eventTypeOf(action: string): string {
  return Object.hasOwn(EVENT_TYPES, action) ? (EVENT_TYPES[action] as string) : action;
}

/** Every event type named in the table, for validating subscriptions (`--events alias.moved,…`). */
export const KNOWN_EVENT_TYPES: readonly string[] = Object.values(EVENT_TYPES);

/**
 * One event as webhooks receive it (the body) and the event stream sends it (the `data:` line).
 * `seq` is the audit event's sequence number: it orders events, resumes a stream
 * (`Last-Event-ID`), and, as `evt_<seq>`, is the `webhook-id` a receiver deduplicates on.
 * For alias events `data` carries `alias`, `previous_version`, `version` and `promotion`
 * (the promotion that moved it, or null).
 */
export const EventSchema = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  type: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  model: Type.Union([Type.String(), Type.Null()]),
  subject: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type BerthEvent = Static<typeof EventSchema>;

/** The `webhook-id` (and SSE `id`) of an event. */
export function eventId(seq: number): string {
  return `evt_${seq}`;
}
