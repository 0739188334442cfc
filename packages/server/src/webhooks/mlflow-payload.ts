import type { BerthEvent } from '@berth/core';

/**
 * MLflow 3 webhook events (entity.action) and the Berth event each one is: the MLflow front
 * stores a webhook's MLflow events as these Berth types and the dispatcher sends the MLflow
 * body for them. MLflow's tag and prompt events have no Berth counterpart and are refused.
 */
export const MLFLOW_EVENTS: Readonly<Record<string, string>> = {
  'registered_model.created': 'model.created',
  'model_version.created': 'version.created',
  'model_version_alias.created': 'alias.moved',
  'model_version_alias.deleted': 'alias.deleted',
};

/** The MLflow event (entity.action) of a Berth event type, if it has one. */
export function mlflowEventOf(type: string): string | undefined {
  for (const [m, b] of Object.entries(MLFLOW_EVENTS)) if (b === type) return m;
  return undefined;
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/**
 * The body MLflow's own server sends (mlflow/webhooks/delivery.py `_send_webhook_request`):
 * `{entity, action, timestamp, data}` with `data` in the shape of mlflow/webhooks/types.py.
 */
export function mlflowBody(e: BerthEvent, mlflowEvent: string): Record<string, unknown> {
  const [entity, action] = mlflowEvent.split('.') as [string, string];
  const name = e.model ?? e.subject;
  const after = (e.data.after ?? {}) as Record<string, unknown>;
  let data: Record<string, unknown>;
  switch (mlflowEvent) {
    case 'registered_model.created':
      data = { name, tags: after.tags ?? {}, description: str(after.description) };
      break;
    case 'model_version.created':
      data = {
        name,
        version: str(e.data.version),
        source: str(after.source) ?? '',
        run_id: str(after.run_id),
        tags: after.tags ?? {},
        description: str(after.description),
      };
      break;
    case 'model_version_alias.created':
      data = { name, alias: e.data.alias, version: str(e.data.version) };
      break;
    default:
      data = { name, alias: e.data.alias };
  }
  return { entity, action, timestamp: e.timestamp, data };
}
