import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Request durations from 1 ms up: the gateway's own overhead is sub-millisecond, an LLM answer takes seconds. */
const DURATION_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export type RequestResult = 'ok' | 'error' | 'client_error';
export type ShadowResult = 'same' | 'differed' | 'error' | 'dropped';

/** The per-(deployment, version) children, looked up once: prom-client hashes label sets on every `labels()` call. */
export interface VersionMetrics {
  outcome: Record<RequestResult, Counter.Internal>;
  duration: Histogram.Internal<string>;
  ttfb: Histogram.Internal<string>;
  tokensIn: Counter.Internal;
  tokensOut: Counter.Internal;
}

/** The gateway's Prometheus metrics, on a registry of its own so two gateways in one process never share counters. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'berth_gateway_requests_total',
    help: 'Client requests answered, by deployment, version and outcome (ok, error: an upstream failure, client_error: a 4xx)',
    labelNames: ['deployment', 'version', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'berth_gateway_request_duration_seconds',
    help: 'Time from the request to the last byte of its answer',
    labelNames: ['deployment', 'version'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly ttfb = new Histogram({
    name: 'berth_gateway_time_to_first_byte_seconds',
    help: "Time from the request to the first byte of the upstream's answer",
    labelNames: ['deployment', 'version'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'berth_gateway_tokens_total',
    help: 'Tokens as the upstream reported them in usage, by direction (in: prompt, out: completion)',
    labelNames: ['deployment', 'version', 'direction'] as const,
    registers: [this.registry],
  });
  private readonly quality = new Histogram({
    name: 'berth_gateway_quality_score',
    help: 'Quality scores in [0, 1], by source (feedback, judge)',
    labelNames: ['deployment', 'version', 'source'] as const,
    buckets: SCORE_BUCKETS,
    registers: [this.registry],
  });
  private readonly weight = new Gauge({
    name: 'berth_gateway_weight',
    help: 'Percent of client requests routed to a version',
    labelNames: ['deployment', 'version'] as const,
    registers: [this.registry],
  });
  private readonly shadow = new Counter({
    name: 'berth_gateway_shadow_total',
    help: 'Shadow copies by outcome (same, differed, error, dropped: over the in-flight bound)',
    labelNames: ['deployment', 'version', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly registryConnected = new Gauge({
    name: 'berth_gateway_registry_connected',
    help: '1 while the gateway follows the registry event stream, 0 while it serves the last state it knew',
    registers: [this.registry],
  });
  private readonly children = new Map<string, VersionMetrics>();

  forVersion(deployment: string, version: number): VersionMetrics {
    const key = `${deployment}\u0000${version}`;
    let m = this.children.get(key);
    if (!m) {
      const v = String(version);
      m = {
        outcome: {
          ok: this.requests.labels(deployment, v, 'ok'),
          error: this.requests.labels(deployment, v, 'error'),
          client_error: this.requests.labels(deployment, v, 'client_error'),
        },
        duration: this.duration.labels(deployment, v),
        ttfb: this.ttfb.labels(deployment, v),
        tokensIn: this.tokens.labels(deployment, v, 'in'),
        tokensOut: this.tokens.labels(deployment, v, 'out'),
      };
      this.children.set(key, m);
    }
    return m;
  }

  qualityScore(deployment: string, version: number, source: 'feedback' | 'judge', score: number): void {
    this.quality.labels(deployment, String(version), source).observe(score);
  }

  shadowCopy(deployment: string, version: number, outcome: ShadowResult): void {
    this.shadow.labels(deployment, String(version), outcome).inc();
  }

  /** Replaces a deployment's weight series (versions that left the split disappear rather than linger at their last value). */
  setWeights(deployment: string, before: ReadonlyMap<number, number> | undefined, now: ReadonlyMap<number, number> | undefined): void {
    for (const v of before?.keys() ?? []) if (!now?.has(v)) this.weight.remove(deployment, String(v));
    for (const [v, w] of now ?? []) this.weight.labels(deployment, String(v)).set(w);
  }
}
