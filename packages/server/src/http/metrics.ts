import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { actorNameOf } from './actor.js';

/**
 * The server's own metrics, in one prom-client registry per process (not prom-client's global
 * one, so an embedding application's metrics never mix in). Exposed at `GET /metrics` in the
 * Prometheus text format (docs/decisions/0015).
 */
const register = new Registry();
collectDefaultMetrics({ register, prefix: 'berth_' });

let outboxLagSource: (() => Promise<number>) | undefined;

const requests = new Counter({
  name: 'berth_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status class',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [register],
});

const latency = new Histogram({
  name: 'berth_http_request_duration_seconds',
  help: 'Time from the request to the end of its answer, by method, route pattern and status class',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [register],
});

export const serverMetrics = {
  register,
  /** Webhook delivery attempts that failed (an error, a timeout or a non-2xx answer), by webhook id. */
  webhookDeliveryFailures: new Counter({
    name: 'berth_webhook_delivery_failures_total',
    help: 'Webhook delivery attempts that failed, by webhook id',
    labelNames: ['webhook'] as const,
    registers: [register],
  }),
  /** Clients following the event stream (GET /api/v1/events as text/event-stream). */
  sseFollowers: new Gauge({ name: 'berth_sse_followers', help: 'Clients following the event stream', registers: [register] }),
  /** Where the outbox lag comes from (the webhook dispatcher: newest event seq minus its slowest cursor). */
  setOutboxLagSource(fn: () => Promise<number>): void {
    outboxLagSource = fn;
  },
};

new Gauge({
  name: 'berth_outbox_lag_events',
  help: 'Events committed but not yet handed to every webhook endpoint (0 without a dispatcher)',
  registers: [register],
  // Read when scraped, not on every commit: the lag costs a query, a scrape is rare.
  async collect() {
    this.set(outboxLagSource ? await outboxLagSource() : 0);
  },
});

/** Label children by key: prom-client hashes the label values on each call otherwise, on every request. */
const children = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();

/** pino levels at which an info line is written (a disabled logger's level is `silent`). */
const LOGS_INFO = new Set(['trace', 'debug', 'info']);

function statusClass(code: number): string {
  return `${Math.floor(code / 100)}xx`;
}

/** Counts, times and logs one answered request; a hijacked reply (the event stream) calls it when it ends. */
export function observe(request: FastifyRequest, reply: FastifyReply): void {
  // The route pattern, never the raw URL: one series per route, not one per model name.
  const route = request.routeOptions.url ?? '(no route)';
  const status = statusClass(reply.statusCode);
  const key = `${request.method} ${status} ${route}`;
  let c = children.get(key);
  if (!c) {
    const labels = { method: request.method, route, status };
    c = { count: requests.labels(labels), time: latency.labels(labels) };
    children.set(key, c);
  }
  c.count.inc();
  const ms = reply.elapsedTime;
  c.time.observe(ms / 1000);
  // The one log line of a request (Fastify's own two are off, app.ts); never a header, so no credential.
  if (LOGS_INFO.has(request.log.level))
    request.log.info(
      { method: request.method, route, url: request.url, status: reply.statusCode, ms: Math.round(ms * 1000) / 1000, actor: actorNameOf(request) },
      'request',
    );
}

/** Counts and times every request, logs it once, and serves `GET /metrics`. */
export function observeRequests(app: FastifyInstance): void {
  // A callback hook: it runs on every request, and a promise per hook shows on the hot read path.
  app.addHook('onResponse', (request, reply, done) => {
    observe(request, reply);
    done();
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    const text = await register.metrics();
    return reply.type(register.contentType).send(text);
  });
}
