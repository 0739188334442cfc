import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { openTestApp, type TestApp } from '../../test-support/app.js';
import { serverMetrics } from './metrics.js';
import { localActor } from '../registry/actor.js';

/**
 * The Prometheus text exposition format (version 0.0.4): `# HELP`/`# TYPE` comments and
 * `name{label="value",…} number` samples. Returns the samples; throws naming a bad line.
 */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/, `bad comment line: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|[Nn]a[Nn]|[+-]Inf)$/.exec(line);
    assert.ok(m, `bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return out;
}

describe('metrics', () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp('berth-metrics-');
  });
  after(async () => t.close());

  it('counts and times requests per route pattern, method and status class, in the Prometheus text format', async () => {
    await t.app.inject({ method: 'POST', url: '/api/v1/models', payload: { name: 'chatbot' } });
    for (let i = 0; i < 3; i++) await t.app.inject({ method: 'GET', url: '/api/v1/models/chatbot' });
    await t.app.inject({ method: 'GET', url: '/api/v1/models/nobody-has-this-one' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(res.body);
    const route = '/api/v1/models/:name';
    const count = samples.find(
      (s) => s.name === 'berth_http_requests_total' && s.labels.route === route && s.labels.method === 'GET' && s.labels.status === '2xx',
    );
    assert.equal(count?.value, 3);
    const notFound = samples.find((s) => s.name === 'berth_http_requests_total' && s.labels.route === route && s.labels.status === '4xx');
    assert.equal(notFound?.value, 1);
    const histCount = samples.find((s) => s.name === 'berth_http_request_duration_seconds_count' && s.labels.route === route && s.labels.status === '2xx');
    assert.equal(histCount?.value, 3);
    assert.ok(samples.some((s) => s.name === 'berth_http_request_duration_seconds_bucket' && s.labels.route === route && s.labels.le === '+Inf'));
    // One series per route: the model names in the URLs never become labels.
    assert.doesNotMatch(res.body, /chatbot|nobody-has-this-one/);
    assert.ok(samples.some((s) => s.name === 'berth_process_resident_memory_bytes'));
    assert.ok(samples.some((s) => s.name === 'berth_sse_followers'));
  });

  it('reports the outbox lag from its source when scraped, and webhook delivery failures by webhook', async () => {
    let asked = 0;
    serverMetrics.setOutboxLagSource(async () => {
      asked++;
      return 7;
    });
    serverMetrics.webhookDeliveryFailures.inc({ webhook: 'wh_test' });
    serverMetrics.webhookDeliveryFailures.inc({ webhook: 'wh_test' });
    const samples = parsePrometheus((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    assert.equal(asked, 1);
    assert.equal(samples.find((s) => s.name === 'berth_outbox_lag_events')?.value, 7);
    assert.equal(samples.find((s) => s.name === 'berth_webhook_delivery_failures_total' && s.labels.webhook === 'wh_test')?.value, 2);
  });
});

describe('request log', () => {
  it('writes one line per request with method, route, url, status, time and actor, and never a credential', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const t = await openTestApp('berth-log-', { logger: { level: 'info', stream } });
    try {
      const { token: secret } = await t.registry.tokens.create(localActor(), { name: 'ci-bot', role: 'editor' });
      const headers = { authorization: `Bearer ${secret}`, 'x-berth-actor': 'bob' };
      await t.app.inject({ method: 'POST', url: '/api/v1/models', payload: { name: 'chatbot' }, headers });
      await t.app.inject({ method: 'GET', url: '/api/v1/models/chatbot?x=1', headers });
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/models/missing',
        headers: { authorization: `Basic ${Buffer.from(`u:${secret}`).toString('base64')}` },
      });
      await t.app.inject({ method: 'GET', url: '/api/2.0/mlflow/registered-models/get?name=missing', headers });
      const forged = `hf_${'F'.repeat(40)}`;
      const refused = await t.app.inject({ method: 'GET', url: '/api/v1/models', headers: { authorization: `Bearer ${forged}`, 'x-berth-actor': 'mallory' } });
      assert.equal(refused.statusCode, 401);
      // The event stream, which answers outside Fastify's reply cycle, is logged when it ends.
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (t.app.server.address() as AddressInfo).port;
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/v1/events', headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        req.end();
      });
      assert.equal(status, 200);
      for (let i = 0; i < 50 && lines.filter((l) => l.msg === 'request').length < 6; i++) await new Promise((r) => setTimeout(r, 20));
      const requests = lines.filter((l) => l.msg === 'request');
      assert.equal(requests.length, 6);
      // A refused token is logged as such, never as the local user or the name it declared.
      assert.deepEqual([requests[4]?.status, requests[4]?.actor], [401, 'unauthenticated']);
      assert.deepEqual([requests[5]?.route, requests[5]?.status, requests[5]?.actor], ['/api/v1/events', 200, 'ci-bot']);
      assert.deepEqual(
        { ...requests[1], ms: typeof requests[1]?.ms, time: undefined, pid: undefined, hostname: undefined, reqId: undefined, level: undefined },
        {
          ...{ time: undefined, pid: undefined, hostname: undefined, reqId: undefined, level: undefined },
          msg: 'request',
          method: 'GET',
          route: '/api/v1/models/:name',
          url: '/api/v1/models/chatbot?x=1',
          status: 200,
          ms: 'number',
          actor: 'ci-bot',
        },
      );
      // The token as a Basic password (MLflow's way) is the same caller.
      assert.equal(requests[2]?.status, 404);
      assert.equal(requests[2]?.actor, 'ci-bot');
      // Fastify's own "incoming request" and "request completed" lines are off.
      assert.equal(lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed').length, 0);
      const all = lines.map((l) => JSON.stringify(l)).join('\n');
      assert.equal(all.includes(secret), false);
      assert.equal(all.includes(forged), false);
      assert.equal(all.includes(Buffer.from(`u:${secret}`).toString('base64')), false);
      assert.equal(all.toLowerCase().includes('authorization'), false);
    } finally {
      await t.close();
    }
  });
});
