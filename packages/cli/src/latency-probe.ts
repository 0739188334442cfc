import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * The load probe behind `berth eval latency`: N requests against an HTTP endpoint with at most C
 * in flight, each timed with the monotonic clock from send to the last byte of the answer.
 * Bounded workers over a shared counter keep exactly C requests in flight without a queue of N
 * promises. node:http with a keep-alive agent of exactly C sockets: no request waits for a
 * socket (that wait would be counted as latency), the per-request cost is about half of fetch's,
 * and fetch's blocked-port list (6000, 6665–6669, 10080, …) does not refuse a model server there.
 */
export interface ProbeOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  requests: number;
  concurrency: number;
  /** Time limit of one request; a request over it counts as an error. */
  timeoutMs: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ProbeResult {
  requests: number;
  concurrency: number;
  /** Latency of every 2xx answer, milliseconds, ascending. */
  latencies_ms: number[];
  errors: number;
  /** How many answers had each HTTP status; failures without an answer count under their error code. */
  outcomes: Record<string, number>;
  /** The first failure, to tell the user what went wrong. */
  first_error: string | null;
  duration_ms: number;
}

class Timeout extends Error {}

export async function probe(opts: ProbeOptions): Promise<ProbeResult> {
  const url = new URL(opts.url);
  const isHttps = url.protocol === 'https:';
  const agent = new (isHttps ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: opts.concurrency });
  const headers = { ...opts.headers, ...(opts.body ? { 'content-length': String(opts.body.byteLength) } : {}) };
  const send = () =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = (isHttps ? httpsRequest : httpRequest)(url, { method: opts.method, headers, agent }, (res) => {
        // Reading the answer to its end is part of the latency a client sees, and frees the socket.
        res.on('data', () => {});
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: res.statusMessage ?? '' });
        });
      });
      const timer = setTimeout(() => req.destroy(new Timeout()), opts.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(opts.body);
    });

  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const count = (outcome: string) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };
  let errors = 0;
  let firstError: string | null = null;
  let next = 0;
  let done = 0;
  const one = async () => {
    const started = process.hrtime.bigint();
    try {
      const res = await send();
      count(String(res.status));
      if (res.status >= 200 && res.status < 300) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      else {
        errors++;
        firstError ??= `${opts.method} ${opts.url} answered ${res.status} ${res.text}`.trimEnd();
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      count(err instanceof Timeout ? 'timeout' : (e.code ?? 'error'));
      errors++;
      firstError ??= `${opts.method} ${opts.url} failed: ${err instanceof Timeout ? `no answer within ${opts.timeoutMs} ms` : e.message}`;
    }
    opts.onProgress?.(++done, opts.requests);
  };
  const worker = async () => {
    while (next < opts.requests) {
      next++;
      await one();
    }
  };
  const started = process.hrtime.bigint();
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.requests) }, worker));
  } finally {
    agent.destroy();
  }
  return {
    requests: opts.requests,
    concurrency: opts.concurrency,
    latencies_ms: latencies.sort((a, b) => a - b),
    errors,
    outcomes,
    first_error: firstError,
    duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
  };
}

/** The nearest-rank percentile (`p` in 0..100) of ascending values: a latency some request really had. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The metrics `eval latency` records; latency percentiles over the successful answers only, so fast errors cannot flatter them. */
export function latencyMetrics(r: ProbeResult): Record<string, number> {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    p50_latency_ms: round(percentile(r.latencies_ms, 50)),
    p95_latency_ms: round(percentile(r.latencies_ms, 95)),
    p99_latency_ms: round(percentile(r.latencies_ms, 99)),
    error_rate: round(r.errors / r.requests),
    throughput_rps: round((r.requests / r.duration_ms) * 1000),
  };
}
