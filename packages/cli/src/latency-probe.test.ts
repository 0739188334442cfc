import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latencyMetrics, percentile, probe } from './latency-probe.js';

let upstream: Server | undefined;
afterEach(() => new Promise<void>((done) => (upstream ? upstream.close(() => done()) : done())));

/** A fake model endpoint on loopback: answers each request after `delay(n)` ms with `status(n)`, n counting from 0. */
async function serve(delay: (n: number) => number, status: (n: number) => number = () => 200) {
  let n = 0;
  let inFlight = 0;
  const seen = { maxInFlight: 0, bodies: [] as string[], methods: [] as string[], headers: [] as Record<string, unknown>[] };
  upstream = createServer((req, res) => {
    const i = n++;
    inFlight++;
    seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.bodies.push(Buffer.concat(chunks).toString());
      seen.methods.push(req.method ?? '');
      seen.headers.push(req.headers);
      setTimeout(() => {
        inFlight--;
        res.writeHead(status(i), { 'content-type': 'application/json' }).end('{"ok":true}');
      }, delay(i));
    });
  });
  await new Promise<void>((done) => upstream!.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1/chat`, seen };
}

describe('percentile', () => {
  it('takes the nearest rank, a value some request really had', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 95), 95);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile(v, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2, 3], 0), 1);
    assert.throws(() => percentile([], 50), RangeError);
  });
});

describe('probe', () => {
  it('measures answers with known delays, keeping at most the concurrency in flight', async () => {
    // 90 fast answers and 10 slow ones: p50 is fast, p95 and p99 are slow.
    const { url, seen } = await serve((n) => (n % 10 === 9 ? 120 : 5));
    const r = await probe({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: new TextEncoder().encode('{"q":1}'),
      requests: 100,
      concurrency: 4,
      timeoutMs: 5000,
    });
    assert.equal(r.latencies_ms.length, 100);
    assert.equal(r.errors, 0);
    assert.deepEqual(r.outcomes, { '200': 100 });
    assert.equal(seen.maxInFlight, 4);
    assert.ok(seen.bodies.every((b) => b === '{"q":1}'));
    assert.ok(seen.methods.every((m) => m === 'POST'));
    assert.equal(seen.headers[0]?.authorization, 'Bearer x');
    const m = latencyMetrics(r);
    assert.ok(m.p50_latency_ms! >= 5 && m.p50_latency_ms! < 100, `p50 ${m.p50_latency_ms}`);
    assert.ok(m.p95_latency_ms! >= 120, `p95 ${m.p95_latency_ms}`);
    assert.ok(m.p99_latency_ms! >= m.p95_latency_ms! && m.p99_latency_ms! < 2000, `p99 ${m.p99_latency_ms}`);
    assert.equal(m.error_rate, 0);
    // 10 slow answers over 4 workers take at least 3 × 120 ms; the whole run far less than serially (10 × 120 + 90 × 5).
    assert.ok(m.throughput_rps! > 0 && m.throughput_rps! < 100 / 0.36, `throughput ${m.throughput_rps}`);
  });

  it('counts non-2xx answers and unreachable hosts as errors, outside the latency percentiles', async () => {
    const { url } = await serve(
      () => 1,
      (n) => (n < 3 ? 503 : 200),
    );
    const r = await probe({ url, method: 'GET', headers: {}, requests: 10, concurrency: 1, timeoutMs: 5000 });
    assert.equal(r.errors, 3);
    assert.equal(r.latencies_ms.length, 7);
    assert.deepEqual(r.outcomes, { '503': 3, '200': 7 });
    assert.match(r.first_error ?? '', /answered 503/);
    assert.equal(latencyMetrics(r).error_rate, 0.3);

    const down = await probe({ url: 'http://127.0.0.1:9/', method: 'GET', headers: {}, requests: 2, concurrency: 2, timeoutMs: 5000 });
    assert.equal(down.errors, 2);
    assert.deepEqual(down.outcomes, { ECONNREFUSED: 2 });
    assert.match(down.first_error ?? '', /ECONNREFUSED|connect/);
  });

  it('counts a request over the time limit as a timeout error', async () => {
    const { url } = await serve((n) => (n === 0 ? 500 : 1));
    const r = await probe({ url, method: 'GET', headers: {}, requests: 3, concurrency: 1, timeoutMs: 100 });
    assert.deepEqual(r.outcomes, { timeout: 1, '200': 2 });
    assert.match(r.first_error ?? '', /no answer within 100 ms/);
  });
});
