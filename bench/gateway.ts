import autocannon from 'autocannon';
import type { BerthClient } from '@berth/sdk';
import {
  Load,
  applyDeployment,
  deploymentEvents,
  feedback,
  chat,
  percentile,
  pushVersions,
  startGateway,
  startRegistry,
  waitUntil,
} from '../e2e/gateway/support.js';
import { fmt, spawnListening, table } from './lib.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const DURATION = arg('duration', 10);
const TTFT_REQUESTS = arg('ttft-requests', 500);
const MOVES = arg('moves', 100);
const ROLLBACKS = arg('rollbacks', 3);
const INTERVAL_MS = arg('interval', 1000);
const QUALITY_MIN_SAMPLES = 20;

/** A fake upstream in its own process, as a model server is. */
function startUpstream(behaviour: Record<string, unknown>) {
  return spawnListening(['--import', 'tsx', 'e2e/gateway/fake-openai.ts', JSON.stringify(behaviour)]);
}

/**
 * The ceiling of any proxy hop written in Node on this machine: node:http in, an undici Pool out,
 * the body read whole and the answer piped back, nothing else (no routing, metrics or
 * accounting). Its own process, as the gateway is.
 */
const BARE_PROXY = `
import { createServer } from 'node:http';
import { Pool } from 'undici';
const target = new URL(process.argv[1]);
const pool = new Pool(target.origin, { keepAliveTimeout: 30000 });
const base = target.pathname.replace(/\\/$/, '');
const server = createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', async () => {
    try {
      const up = await pool.request({ path: base + req.url.replace(/^\\/v1/, ''), method: req.method, headers: { 'content-type': 'application/json' }, body: Buffer.concat(parts) });
      res.writeHead(up.statusCode, { 'content-type': up.headers['content-type'] ?? 'application/json' });
      for await (const c of up.body) res.write(c);
      res.end();
    } catch { res.writeHead(502).end(); }
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port + '/v1'));
`;

function startBareProxy(upstream: string) {
  return spawnListening(['--input-type=module', '-e', BARE_PROXY, upstream]);
}

interface Cannon {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

/** autocannon POSTing one chat completion; percentiles from each response's own hrtime duration. */
function cannon(base: string, model: string, connections: number, duration: number): Promise<Cannon> {
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: `${base}/chat/completions`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
        connections,
        duration,
        pipelining: 1,
      },
      (err, r) => {
        if (err) return reject(err);
        times.sort((a, b) => a - b);
        resolve({ rps: r.requests.average, p50: percentile(times, 50), p99: percentile(times, 99), failed: r.errors + r.non2xx + r.timeouts });
      },
    );
    inst.on('response', (_client, status, _bytes, ms) => {
      if (status === 200) times.push(ms);
    });
  });
}

/** Time to the first body bytes of a streamed chat completion, ms. */
async function ttft(base: string, model: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hello' }] }),
  });
  const reader = res.body!.getReader();
  const first = await reader.read();
  const ms = performance.now() - t0;
  if (res.status !== 200 || first.done) throw new Error(`streamed answer ${res.status}`);
  while (!(await reader.read()).done);
  return ms;
}

const fast = await startUpstream({});
const slow = await startUpstream({ latencyMs: 20 });
const streaming = await startUpstream({ chunks: 16, chunkDelayMs: 5, answer: 'a streamed answer in sixteen chunks, token by token.' });
const stops: (() => Promise<void>)[] = [fast.stop, slow.stop, streaming.stop];

try {
  // The baselines first, with nothing else running.
  const scenarios = [
    { name: 'upstream 0 ms, 64 connections', up: fast, deployment: 'fast-bot', connections: 64 },
    { name: 'upstream 20 ms, 64 connections', up: slow, deployment: 'slow-bot', connections: 64 },
    { name: 'upstream 0 ms, 1 connection', up: fast, deployment: 'fast-bot', connections: 1 },
  ];
  const direct: Cannon[] = [];
  const bare: Cannon[] = [];
  const proxies = new Map<string, string>();
  for (const s of scenarios) {
    await cannon(s.up.url, 'bench-m', s.connections, 2);
    direct.push(await cannon(s.up.url, 'bench-m', s.connections, DURATION));
    console.log(`direct, ${s.name}: ${fmt(direct.at(-1)!.rps, 0)} req/s, p50 ${fmt(direct.at(-1)!.p50, 2)} ms, p99 ${fmt(direct.at(-1)!.p99, 2)} ms`);
    let proxy = proxies.get(s.up.url);
    if (!proxy) {
      const p = await startBareProxy(s.up.url);
      stops.push(p.stop);
      proxy = p.url;
      proxies.set(s.up.url, proxy);
    }
    await cannon(proxy, 'bench-m', s.connections, 2);
    bare.push(await cannon(proxy, 'bench-m', s.connections, DURATION));
    console.log(`bare proxy, ${s.name}: ${fmt(bare.at(-1)!.rps, 0)} req/s, p50 ${fmt(bare.at(-1)!.p50, 2)} ms, p99 ${fmt(bare.at(-1)!.p99, 2)} ms`);
  }

  const reg = await startRegistry('berth-bench-gateway-');
  stops.push(reg.stop);
  for (const [deployment, up] of [
    ['fast-bot', fast],
    ['slow-bot', slow],
    ['stream-bot', streaming],
    ['moves-bot', fast],
  ] as const) {
    const model = `${deployment.replace('-bot', '')}-m`;
    await pushVersions(reg.client, model, 2);
    await reg.client.setAlias(model, 'live', 1);
    await applyDeployment(reg, `deployment: ${deployment}\nmodel: ${model}\nstrategy: single\nstable: live\nupstreams:\n  - {versions: "*", url: ${up.url}}\n`);
  }
  const gw = await startGateway(reg.url, { id: 'bench-gw', reportInterval: '10s' });
  stops.unshift(() => gw.stop());
  const gw2 = await startGateway(reg.url, { id: 'bench-router', noAnalysis: true, reportInterval: '10s' });
  stops.unshift(() => gw2.stop());
  for (const d of ['fast-bot', 'slow-bot', 'stream-bot', 'moves-bot'])
    for (const g of [gw, gw2]) await waitUntil(`${d} routed by ${g.id}`, async () => (await chat(g.url, d)).status === 200);

  // 1. Overhead.
  const rows: (string | number)[][] = [['scenario', 'path', 'req/s', 'ratio', 'p50 ms', 'p99 ms', 'p50 added', 'p99 added', 'failed']];
  for (const [i, s] of scenarios.entries()) {
    await cannon(`${gw.url}/v1`, s.deployment, s.connections, 2);
    const g = await cannon(`${gw.url}/v1`, s.deployment, s.connections, DURATION);
    const d = direct[i]!;
    const b = bare[i]!;
    rows.push([s.name, 'direct', fmt(d.rps, 0), '1.00', fmt(d.p50, 2), fmt(d.p99, 2), '', '', d.failed]);
    rows.push(['', 'bare proxy', fmt(b.rps, 0), fmt(b.rps / d.rps, 2), fmt(b.p50, 2), fmt(b.p99, 2), fmt(b.p50 - d.p50, 2), fmt(b.p99 - d.p99, 2), b.failed]);
    rows.push(['', 'gateway', fmt(g.rps, 0), fmt(g.rps / d.rps, 2), fmt(g.p50, 2), fmt(g.p99, 2), fmt(g.p50 - d.p50, 2), fmt(g.p99 - d.p99, 2), g.failed]);
  }
  console.log('\n1. overhead: the upstream called directly vs through the gateway (POST /v1/chat/completions)');
  console.log(table(rows));
  console.log('target: p99 added < 1 ms and gateway req/s >= 0.7x direct at 64 connections');
  console.log('bare proxy: node:http in, an undici Pool out, nothing else: the ceiling of any Node proxy hop on this machine');

  // 2. Streaming time to first token.
  const tDirect: number[] = [];
  const tGateway: number[] = [];
  for (let i = 0; i < 50; i++) await Promise.all([ttft(streaming.url, 'stream-m'), ttft(`${gw.url}/v1`, 'stream-bot')]);
  for (let i = 0; i < TTFT_REQUESTS; i++) {
    tDirect.push(await ttft(streaming.url, 'stream-m'));
    tGateway.push(await ttft(`${gw.url}/v1`, 'stream-bot'));
  }
  const [d50, d99, g50, g99] = [percentile(tDirect, 50), percentile(tDirect, 99), percentile(tGateway, 50), percentile(tGateway, 99)];
  console.log(`\n2. streaming time to first token, ${TTFT_REQUESTS} requests each, one at a time, alternating (16 chunks, 5 ms apart)`);
  console.log(
    table([
      ['path', 'p50 ms', 'p99 ms', 'p50 added', 'p99 added'],
      ['direct', fmt(d50, 2), fmt(d99, 2), '', ''],
      ['gateway', fmt(g50, 2), fmt(g99, 2), fmt(g50 - d50, 2), fmt(g99 - d99, 2)],
    ]),
  );
  console.log('target: time to first token added < 1 ms');

  // 3. Alias-move propagation under load.
  const load = new Load([gw.url, gw2.url], 'moves-bot', 16);
  const delays: number[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < MOVES; i++) {
      const version = i % 2 === 0 ? 2 : 1;
      await reg.client.setAlias('moves-m', 'live', version, { expect: version === 2 ? 1 : 2 });
      const moved = performance.timeOrigin + performance.now();
      const seen = await waitUntil(
        `move ${i + 1} seen by both gateways`,
        () => {
          const later = load.since(moved).filter((s) => s.version === `moves-m:${version}`);
          const first = [0, 1].map((t) => later.find((s) => s.target === t));
          return first.every(Boolean) && Math.max(...first.map((s) => s!.end - moved));
        },
        10_000,
        2,
      );
      delays.push(seen);
    }
  } finally {
    await load.stop();
  }
  console.log(`\n3. alias moves under load: ${MOVES} moves, 16 connections over 2 gateways, ${load.samples.length} requests`);
  console.log(
    table([
      ['moves', 'requests', 'failed', 'p50 ms', 'p99 ms', 'max ms'],
      [MOVES, load.samples.length, load.failures().length, fmt(percentile(delays, 50), 1), fmt(percentile(delays, 99), 1), fmt(Math.max(...delays), 1)],
    ]),
  );
  console.log("(time from the move's HTTP answer to the first answer with the new x-berth-version from each gateway, the later of the two)");
  console.log('target: every move within 1 s, 0 failed requests');

  // 4. Quality rollback.
  const late: number[] = [];
  for (let run = 0; run < ROLLBACKS; run++) late.push(await qualityRollback(reg.client, reg, gw.url, run, fast.url));
  console.log(`\n4. quality rollback: analysis interval ${INTERVAL_MS} ms, min sample ${QUALITY_MIN_SAMPLES} feedback scores, ${ROLLBACKS} canaries`);
  console.log(table([['run', 'ms after the minimum sample', 'analysis intervals'], ...late.map((ms, i) => [i + 1, fmt(ms, 0), fmt(ms / INTERVAL_MS, 2)])]));
  console.log('target: within one analysis interval after the minimum sample');
} finally {
  for (const stop of stops) await stop().catch(() => undefined);
}

/** One canary fed low scores until its quality SLO has its minimum sample; ms from then to the abort event. */
async function qualityRollback(
  client: BerthClient,
  reg: Awaited<ReturnType<typeof startRegistry>>,
  gatewayUrl: string,
  run: number,
  upstream: string,
): Promise<number> {
  const model = `quality-${run}-m`;
  const deployment = `quality-${run}-bot`;
  await pushVersions(client, model, 2);
  await client.setAlias(model, 'champion', 1);
  await applyDeployment(
    reg,
    `deployment: ${deployment}
model: ${model}
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 50, pause: 1h}, {weight: 100}]
upstreams:
  - {versions: "*", url: ${upstream}}
slos:
  quality: {min_score: 0.5, max_fraction_below: 0.1, window: 50, min_samples: ${QUALITY_MIN_SAMPLES}}
analysis_interval: ${INTERVAL_MS}ms
`,
  );
  await waitUntil(`${deployment} routed`, async () => (await chat(gatewayUrl, deployment)).status === 200);
  await client.setAlias(model, 'challenger', 2);
  await waitUntil(`${deployment}'s canary started`, async () => (await client.deploymentStatus(deployment)).rollout?.state === 'progressing');
  let scored = 0;
  let reached = 0;
  while (scored < QUALITY_MIN_SAMPLES) {
    const a = await chat(gatewayUrl, deployment);
    if (a.version !== `${model}:2` || !a.requestId) continue;
    const r = await feedback(gatewayUrl, a.requestId, 0.1);
    if (r.status !== 200) throw new Error(`feedback answered ${r.status}: ${JSON.stringify(r.json)}`);
    scored++;
    reached = Date.now();
  }
  const aborted = await waitUntil(
    `${deployment} aborted`,
    async () => (await deploymentEvents(client, model, deployment)).find((e) => e.type === 'deployment.aborted'),
    30_000,
    20,
  );
  return Date.parse(aborted.timestamp) - reached;
}
