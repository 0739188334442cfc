import type { BerthEvent } from '@berth/core';
import type { WebhookRecord } from '../store/webhooks.js';
import { mlflowBody, mlflowEventOf } from './mlflow-payload.js';
import { secretBytes, sign } from './signature.js';

/**
 * The body and headers of one call. A Berth webhook gets the event itself with Standard
 * Webhooks headers; a webhook made through the MLflow API gets what MLflow's own server sends
 * (mlflow/webhooks/delivery.py): `X-MLflow-Delivery-Id`, `X-MLflow-Timestamp` and
 * `X-MLflow-Signature`, the same `v1,` HMAC-SHA256 of `id.timestamp.body` keyed by the secret's
 * UTF-8 bytes, so receivers written against MLflow verify it unchanged. `id` is the same on
 * every retry and replay of the event: receivers deduplicate on it.
 */
export function compose(
  w: Pick<WebhookRecord, 'flavor' | 'secret'>,
  e: BerthEvent,
  id: string,
  nowMs: number,
): { headers: Record<string, string>; body: string } {
  const timestamp = String(Math.floor(nowMs / 1000));
  if (w.flavor === 'mlflow') {
    const body = JSON.stringify(mlflowBody(e, mlflowEventOf(e.type) ?? e.type));
    // Spelled as MLflow spells them: a receiver reading a plain dict of headers finds them.
    const headers: Record<string, string> = { 'X-MLflow-Delivery-Id': id, 'X-MLflow-Timestamp': timestamp };
    if (w.secret) headers['X-MLflow-Signature'] = sign(Buffer.from(w.secret, 'utf8'), id, timestamp, body);
    return { headers, body };
  }
  const body = JSON.stringify(e);
  return { headers: { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': sign(secretBytes(w.secret), id, timestamp, body) }, body };
}
