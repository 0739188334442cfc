import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricType } from 'prom-client';
import { actorNameOf } from './actor.js';

/**
 * The server's own metrics, in one prom-client registry per process (not prom-client's global
 * one, so an embedding application's metrics never mix in). Exposed at `GET /metrics` in the
 * Prometheus text format (docs/decisions/0015).
 */
const register = new Registry();
collectDefaultMetrics({ register, prefix: 'berth_' });

let outboxLagSource: (() => Promise<number>) | undefined;

const REQUEST_SECONDS = 'berth_http_request_duration_seconds';
/** prom-client declares its MetricType enum in its types only; the value at run time is the string. */
const HISTOGRAM = 'histogram' as unknown as MetricType;
const REQUEST_SECONDS_HELP = 'Time from the request to the end of its answer, by method, route pattern and status class';
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One series of the request metrics: a method, route pattern and status class. */
interface RouteSeries {
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  buckets: Float64Array;
}

/**
 * Request counts and times, kept in plain numbers on the hot path and handed to prom-client
 * only when scraped: its labelled `inc`/`observe` hash the label set on every call, about a
 * microsecond a request, which showed on the alias-resolve benchmark.
 */
const series = new Map<string, RouteSeries>();

type Values = Awaited<ReturnType<Counter['get']>>['values'];

class RequestCounter extends Counter {
  override async get() {
    const values: Values = [...series.values()].map((s) => ({ value: s.count, labels: s.labels }));
    return { ...(await super.get()), values };
  }
}

/**
 * The registry renders a histogram through `getForPromString` when it has one (prom-client
 * lib/registry.js), through `get` otherwise: both answer from the plain aggregates. The metrics
 * test reads the rendered buckets, so a prom-client that changes this fails it.
 */
class RequestHistogram extends Histogram {
  override async get() {
    return {
      name: REQUEST_SECONDS,
      help: REQUEST_SECONDS_HELP,
      type: HISTOGRAM,
      aggregator: 'sum' as const,
      collect: () => {},
      values: histogramValues(),
    };
  }
  async getForPromString() {
    return this.get();
  }
}

function histogramValues(): (Values[number] & { metricName: string })[] {
  const values: (Values[number] & { metricName: string })[] = [];
  for (const s of series.values()) {
    let acc = 0;
    BUCKETS.forEach((le, i) => {
      acc += s.buckets[i] as number;
      values.push({ value: acc, labels: { ...s.labels, le }, metricName: `${REQUEST_SECONDS}_bucket` });
    });
    values.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: `${REQUEST_SECONDS}_bucket` });
    values.push({ value: s.sum, labels: s.labels, metricName: `${REQUEST_SECONDS}_sum` });
    values.push({ value: s.count, labels: s.labels, metricName: `${REQUEST_SECONDS}_count` });
  }
  return values;
}

new RequestCounter({
  name: 'berth_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status class',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [register],
});

new RequestHistogram({
  name: REQUEST_SECONDS,
  help: REQUEST_SECONDS_HELP,
  labelNames: ['method', 'route', 'status'] as const,
  buckets: BUCKETS,
  registers: [register],
});

export const serverMetrics = {
  register,
  /** Webhook deliveries that failed for good (every attempt failed, or the target was refused), by webhook id: `berth webhook replay` resends them. */
  webhookDeliveryFailures: new Counter({
    name: 'berth_webhook_delivery_failures_total',
    help: 'Webhook deliveries that failed after their last attempt (or were refused), by webhook id',
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
  let c = series.get(key);
  if (!c) {
    c = { labels: { method: request.method, route, status }, count: 0, sum: 0, buckets: new Float64Array(BUCKETS.length + 1) };
    series.set(key, c);
  }
  const ms = reply.elapsedTime;
  const seconds = ms / 1000;
  let b = 0;
  while (b < BUCKETS.length && seconds > (BUCKETS[b] as number)) b++;
  c.buckets[b] = (c.buckets[b] as number) + 1;
  c.count++;
  c.sum += seconds;
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
