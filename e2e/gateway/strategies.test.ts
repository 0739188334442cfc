import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeUpstreams } from './fake-openai.js';
import {
  Load,
  applyDeployment,
  chat,
  countVersions,
  deploymentEvents,
  metricSum,
  metrics,
  pushVersions,
  rolloutOf,
  sseEvents,
  startGateway,
  startRegistry,
  waitUntil,
  type GatewayProcess,
  type Registry,
} from './support.js';

/** Each deployment strategy through a real registry and a real gateway process, with fake upstreams. */
describe('gateway strategies, end to end', () => {
  let reg: Registry;
  let gw: GatewayProcess;
  const fakes = new FakeUpstreams();
  const fake: FakeUpstreams['start'] = (name, behaviour) => fakes.start(name, behaviour);

  before(async () => {
    reg = await startRegistry('berth-e2e-strategies-');
    gw = await startGateway(reg.url);
  });
  after(async () => {
    await gw?.stop();
    await fakes.closeAll();
    await reg?.stop();
  });

  /** The first answer a deployment gives with status 200 (a newly applied deployment reaches the gateway by the event stream). */
  const routed = (model: string, version?: string) =>
    waitUntil(`${model} routed by the gateway${version ? ` to ${version}` : ''}`, async () => {
      const r = await chat(gw.url, model);
      return r.status === 200 && (version === undefined || r.version === version) && r;
    });

  it('single: all traffic to the stable holder, on the first upstream that serves it; a move redeploys with no restart', async () => {
    const a = await fake('a');
    const b = await fake('b');
    await pushVersions(reg.client, 'single-m', 2);
    await reg.ok(['alias', 'set', 'single-m', 'live', '1']);
    await applyDeployment(
      reg,
      `deployment: single-bot
model: single-m
strategy: single
stable: live
upstreams:
  - {versions: [1], url: ${a.url}}
  - {versions: "*", url: ${b.url}}
analysis_interval: 200ms
`,
    );
    const first = await routed('single-bot');
    assert.equal(first.version, 'single-m:1');
    assert.equal(first.deployment, 'single-bot');
    assert.match(first.requestId ?? '', /^req_[0-9a-f]{24}$/);
    assert.equal(first.content, 'answer from a');
    assert.equal(a.completions().at(-1)?.body?.model, 'single-m', 'the registry model name is what the upstream is asked for');
    assert.equal((first.json as { model?: string }).model, 'single-m');

    for (const model of ['single-m@live', 'single-m:1']) {
      const r = await chat(gw.url, model);
      assert.deepEqual([r.status, r.version, r.content], [200, 'single-m:1', 'answer from a'], model);
    }

    const streamed = await chat(gw.url, 'single-bot', { stream: true });
    assert.equal(streamed.status, 200);
    assert.match(streamed.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.equal(streamed.version, 'single-m:1');
    assert.equal(streamed.content, 'answer from a');
    assert.equal(sseEvents(streamed.text).at(-1), '[DONE]');

    await reg.ok(['alias', 'set', 'single-m', 'live', '2']);
    const moved = await routed('single-bot', 'single-m:2');
    assert.equal(moved.content, 'answer from b', 'version 2 is served by the second upstream ("*")');
    assert.equal(b.completions().length, 1);
  });

  it('blue-green: the new side is warmed by health probes, then one switch; `berth rollback` switches back at once', async () => {
    const blue = await fake('blue');
    const green = await fake('green');
    await pushVersions(reg.client, 'bg-m', 2);
    await reg.ok(['alias', 'set', 'bg-m', 'champion', '1']);
    await applyDeployment(
      reg,
      `deployment: bg-bot
model: bg-m
strategy: blue-green
stable: champion
upstreams:
  - {versions: [1], url: ${blue.url}}
  - {versions: [2], url: ${green.url}}
analysis_interval: 200ms
warmup: {checks: 3, interval: 500ms, timeout: 20s}
`,
    );
    await routed('bg-bot', 'bg-m:1');
    // One connection: answers come in the order they were asked, so "one switch" is visible as one change.
    let load = new Load([gw.url], 'bg-bot', 1);
    const moved = Date.now();
    await reg.ok(['alias', 'set', 'bg-m', 'champion', '2']);
    await waitUntil('the switch to bg-m:2', () => load.samples.some((s) => s.version === 'bg-m:2'), 20_000);
    let samples = await load.stop();
    assert.deepEqual(load.failures(), []);
    const versions = samples.map((s) => s.version);
    const switchedAt = versions.indexOf('bg-m:2');
    assert.ok(
      versions.slice(switchedAt).every((v) => v === 'bg-m:2'),
      'once switched, never back',
    );
    const switchTime = samples[switchedAt]!.start;
    assert.ok(
      samples.some((s) => s.start > moved + 200 && s.start < switchTime && s.version === 'bg-m:1'),
      'the old side serves while the new one warms',
    );
    assert.ok(switchTime - moved >= 900, `three probes 500 ms apart take a second; switched after ${switchTime - moved} ms`);
    const firstServed = green.completions()[0]!.at;
    const probes = green.requests.filter((r) => r.method === 'GET' && r.path === '/v1/models' && r.at < firstServed);
    assert.ok(probes.length >= 3, `green was probed ${probes.length} times before its first request`);

    const events = await deploymentEvents(reg.client, 'bg-m', 'bg-bot');
    const started = events.find((e) => e.type === 'deployment.rollout_started');
    assert.ok(started, JSON.stringify(events.map((e) => e.type)));
    assert.deepEqual([rolloutOf(started).kind, rolloutOf(started).candidate_version], ['blue-green', 2]);
    assert.ok(events.some((e) => e.type === 'deployment.completed'));

    load = new Load([gw.url], 'bg-bot', 1);
    const rolledBack = Date.now();
    await reg.ok(['rollback', 'bg-m', 'champion', '--reason', 'green answers worse']);
    await waitUntil('the switch back to bg-m:1', () => load.samples.some((s) => s.start > rolledBack && s.version === 'bg-m:1'), 10_000);
    samples = await load.stop();
    assert.deepEqual(load.failures(), []);
    const back = samples.find((s) => s.start > rolledBack && s.version === 'bg-m:1')!;
    // No warm-up for a side that answered moments ago: the switch is decided on that, not on probes
    // (three probes 500 ms apart would take a second at least); the time allows a busy machine.
    const switchedBack = (await deploymentEvents(reg.client, 'bg-m', 'bg-bot')).filter(
      (e) => e.type === 'deployment.completed' && rolloutOf(e).candidate_version === 1,
    );
    assert.equal(switchedBack.length, 1, JSON.stringify(switchedBack));
    assert.match(String(switchedBack[0]!.reason ?? ''), /healthy \d+ ms ago/);
    assert.ok(back.start - rolledBack < 3000, `the switch back took ${back.start - rolledBack} ms: a warm side needs no warm-up`);
  });

  it('canary: the steps are reached in order, each holding its pause, each weight visible in the traffic, then champion moves', async () => {
    const up = await fake('canary-up');
    await pushVersions(reg.client, 'canary-m', 2);
    await reg.ok(['alias', 'set', 'canary-m', 'champion', '1']);
    await applyDeployment(
      reg,
      `deployment: canary-bot
model: canary-m
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 20, pause: 1500ms}, {weight: 60, pause: 1500ms}, {weight: 100}]
upstreams:
  - {versions: "*", url: ${up.url}}
slos:
  error_rate: {max: 0.5, min_samples: 5}
analysis_interval: 200ms
`,
    );
    await routed('canary-bot', 'canary-m:1');
    const load = new Load([gw.url], 'canary-bot', 4);
    await reg.ok(['alias', 'set', 'canary-m', 'challenger', '2']);
    await waitUntil('champion moved to canary-m:2', async () => (await reg.client.resolveAlias('canary-m', 'champion')).version === 2, 30_000, 100);
    const samples = await load.stop();
    assert.deepEqual(load.failures(), []);

    const events = (await deploymentEvents(reg.client, 'canary-m', 'canary-bot')).filter((e) =>
      ['deployment.rollout_started', 'deployment.step_advanced', 'deployment.completed', 'deployment.aborted'].includes(e.type),
    );
    assert.deepEqual(
      events.map((e) => [e.type, rolloutOf(e).step, rolloutOf(e).weight]),
      [
        ['deployment.rollout_started', 0, 20],
        ['deployment.step_advanced', 1, 60],
        ['deployment.step_advanced', 2, 100],
        ['deployment.completed', 2, 100],
      ],
    );
    const at = events.map((e) => Date.parse(e.timestamp));
    assert.ok(at[1]! - at[0]! >= 1400 && at[2]! - at[1]! >= 1400, `each step held its pause: ${at.map((t) => t - at[0]!).join(', ')} ms`);
    // Allow 300 ms after each event for the gateway to take the new weight.
    const share = (from: number, to: number) => {
      const c = countVersions(samples.filter((s) => s.start > from + 300 && s.end < to));
      const n = (c['canary-m:1'] ?? 0) + (c['canary-m:2'] ?? 0);
      return { share: (c['canary-m:2'] ?? 0) / n, n };
    };
    const s0 = share(at[0]!, at[1]!);
    const s1 = share(at[1]!, at[2]!);
    assert.ok(s0.n >= 20 && s0.share > 0.05 && s0.share < 0.4, `step 0 (20%): ${JSON.stringify(s0)}`);
    assert.ok(s1.n >= 20 && s1.share > 0.4 && s1.share < 0.8, `step 1 (60%): ${JSON.stringify(s1)}`);
    const after = await chat(gw.url, 'canary-bot');
    assert.equal(after.version, 'canary-m:2');
  });

  it('shadow: the client always gets the stable answer; the challenger gets a copy of each request; status shows the difference rate', async () => {
    const stable = await fake('shadow-stable', { answer: 'the stable answer' });
    const challenger = await fake('shadow-challenger', { answer: 'another answer' });
    await pushVersions(reg.client, 'shadow-m', 2);
    await reg.ok(['alias', 'set', 'shadow-m', 'champion', '1']);
    await reg.ok(['alias', 'set', 'shadow-m', 'challenger', '2']);
    await applyDeployment(
      reg,
      `deployment: shadow-bot
model: shadow-m
strategy: shadow
stable: champion
candidate: challenger
upstreams:
  - {versions: [1], url: ${stable.url}}
  - {versions: [2], url: ${challenger.url}}
shadow: {sample: 1}
analysis_interval: 200ms
`,
    );
    await routed('shadow-bot');
    const asked = () => challenger.completions().filter((c) => /^question /.test(c.body?.messages?.[0]?.content ?? ''));
    const answers = [];
    for (let i = 0; i < 10; i++)
      answers.push(await chat(gw.url, 'shadow-bot', { stream: i % 2 === 1, body: { messages: [{ role: 'user', content: `question ${i}` }] } }));
    for (const a of answers) assert.deepEqual([a.status, a.version, a.content], [200, 'shadow-m:1', 'the stable answer']);
    await waitUntil('ten shadow copies', () => asked().length >= 10);
    const copies = asked();
    assert.deepEqual(copies.map((c) => c.body?.stream === true).filter(Boolean), [], 'copies are never streamed');
    assert.deepEqual(copies.map((c) => c.body?.messages?.[0]?.content).sort(), answers.map((_, i) => `question ${i}`).sort());

    // The shadow side hanging never slows the client.
    challenger.set({ hang: true });
    const fast = await chat(gw.url, 'shadow-bot');
    assert.deepEqual([fast.status, fast.content], [200, 'the stable answer']);
    assert.ok(fast.ms < 1000, `${fast.ms} ms`);

    const status = await waitUntil('a served report with shadow comparisons', async () => {
      const s = await reg.client.deploymentStatus('shadow-bot');
      const compared = s.reports.reduce((n, r) => n + (r.shadow?.compared ?? 0), 0);
      return compared > 0 && s;
    });
    const report = status.reports.find((r) => (r.shadow?.compared ?? 0) > 0)!;
    assert.equal(report.shadow?.diff_rate, 1, JSON.stringify(report.shadow));
    assert.equal(report.shadow?.differed, report.shadow?.compared);
    assert.ok(report.versions.some((v) => v.version === 2 && v.shadow));
    // Status holds each gateway's latest report window only: one without traffic compares
    // nothing, so the CLI is read while copies keep being compared.
    challenger.set({ hang: false });
    const load = new Load([gw.url], 'shadow-bot', 2);
    try {
      await waitUntil('berth deploy status showing the difference rate', async () => {
        const shown = JSON.parse(await reg.ok(['deploy', 'status', 'shadow-bot', '--json'])) as typeof status;
        return shown.reports.some((r) => r.shadow?.diff_rate === 1 && r.versions.some((v) => v.version === 2 && v.shadow));
      });
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures(), []);
  });

  it('ab: sticky by the x-user-id header, both variants served, counted per variant in /metrics', async () => {
    const up = await fake('ab-up');
    await pushVersions(reg.client, 'ab-m', 2);
    await reg.ok(['alias', 'set', 'ab-m', 'champion', '1']);
    await reg.ok(['alias', 'set', 'ab-m', 'challenger', '2']);
    await applyDeployment(
      reg,
      `deployment: ab-bot
model: ab-m
strategy: ab
stable: champion
candidate: challenger
ab: {split: 50, key: header:x-user-id}
upstreams:
  - {versions: "*", url: ${up.url}}
analysis_interval: 200ms
`,
    );
    await routed('ab-bot');
    const base = await metrics(gw.url);
    const seen = new Map<string, Set<string>>();
    const counts: Record<string, number> = {};
    for (let user = 0; user < 40; user++)
      for (let i = 0; i < 3; i++) {
        const r = await chat(gw.url, 'ab-bot', { headers: { 'x-user-id': `user-${user}` } });
        assert.equal(r.status, 200);
        const set = seen.get(`user-${user}`) ?? new Set();
        set.add(r.version ?? '');
        seen.set(`user-${user}`, set);
        counts[r.version ?? ''] = (counts[r.version ?? ''] ?? 0) + 1;
      }
    for (const [user, versions] of seen) assert.equal(versions.size, 1, `${user} got ${[...versions].join(', ')}`);
    assert.ok((counts['ab-m:1'] ?? 0) >= 15 && (counts['ab-m:2'] ?? 0) >= 15, JSON.stringify(counts));
    const now = await metrics(gw.url);
    for (const v of ['1', '2']) {
      const served =
        metricSum(now, 'berth_gateway_requests_total', { deployment: 'ab-bot', version: v }) -
        metricSum(base, 'berth_gateway_requests_total', { deployment: 'ab-bot', version: v });
      assert.equal(served, counts[`ab-m:${v}`], `requests of version ${v} in /metrics`);
    }
    assert.equal(metricSum(now, 'berth_gateway_weight', { deployment: 'ab-bot', version: '1' }), 50);
    assert.equal(metricSum(now, 'berth_gateway_weight', { deployment: 'ab-bot', version: '2' }), 50);
  });
});
