import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeploymentDocument, Rollout, RolloutDecisionBody, ServedReportBody } from '@berth/core';
import { BerthClient } from '@berth/sdk';
import type { DataPlane, DeploymentsView, LiveDeployment, ProbeResult, RequestOutcome } from '../contract.js';
import { createControlPlane, type Timers } from './control-plane.js';
import { controlPlane } from './index.js';

const T0 = Date.parse('2026-03-08T14:00:00.000Z');

/** The clock and the timers the control plane runs on: time moves only when a test says so. */
class FakeTime implements Timers {
  t = T0;
  private readonly entries = new Set<{ next: number; ms: number; fn: () => void }>();
  now = (): number => this.t;
  every(ms: number, fn: () => void): () => void {
    const e = { next: this.t + ms, ms, fn };
    this.entries.add(e);
    return () => this.entries.delete(e);
  }
  /** Moves time forward, firing each due timer in order and letting its work finish before the next. */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.entries].filter((e) => e.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.t = due.next;
      due.next += due.ms;
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

function document(over: Partial<DeploymentDocument> = {}): DeploymentDocument {
  return {
    deployment: 'chatbot',
    model: 'cs-bot',
    strategy: 'canary',
    stable: 'champion',
    candidate: 'challenger',
    steps: [
      { weight: 10, pause_ms: 1000 },
      { weight: 50, pause_ms: 1000 },
      { weight: 100, pause_ms: 0 },
    ],
    ab: null,
    upstreams: [{ versions: '*', url: 'http://127.0.0.1:9/v1', adapter: null, protocol: 'openai', health: null, timeout_ms: 60000 }],
    slos: { error_rate: { max: 0.1, min_samples: 5 }, p99_latency_ms: null, quality: { min_score: 0.5, max_fraction_below: 0.2, window: 20, min_samples: 5 } },
    analysis_interval_ms: 200,
    bake_ms: 0,
    judge: null,
    shadow: null,
    warmup: { checks: 3, interval_ms: 100, timeout_ms: 1000 },
    ...over,
  };
}

/**
 * The registry as the control plane sees it through the SDK: the rollout compare-and-swap
 * (409 on a stale rollout id or step), the alias moves an abort or a completion makes, served
 * reports, and prompt rendering; every call recorded. It answers through the client's `fetch`.
 */
class FakeRegistry {
  aliases: Record<string, number | null>;
  rollout: Rollout | null = null;
  seq = 1;
  down = false;
  /** Calls never answer (a registry gone silent); only the caller's signal ends them. */
  hang = false;
  /** A policy gate refusing completions (412) with this message. */
  gate: string | null = null;
  decisions: RolloutDecisionBody[] = [];
  reports: ServedReportBody[] = [];
  renders: Array<{ ref: string; variables: Record<string, string> }> = [];
  /** Runs before the next rollout decision is judged: another gateway deciding first. */
  racer: (() => void) | null = null;
  private ids = 0;

  constructor(
    public doc: DeploymentDocument,
    aliases: Record<string, number | null>,
    private readonly now: () => number,
  ) {
    this.aliases = { ...aliases };
  }

  client(): BerthClient {
    return new BerthClient({ url: 'http://registry.test', fetch: (input, init) => this.fetch(String(input), init) });
  }

  moveAlias(alias: string, version: number | null): void {
    this.aliases[alias] = version;
    this.seq++;
  }

  private async fetch(url: string, init?: RequestInit): Promise<Response> {
    if (this.down) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    if (this.hang) return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }));
    const path = new URL(url).pathname;
    const body = JSON.parse(String(init?.body ?? '{}')) as Record<string, unknown>;
    if (path === '/api/v1/deployments/chatbot/rollout') return this.decide(body as unknown as RolloutDecisionBody);
    if (path === '/api/v1/deployments/chatbot/served') {
      this.reports.push(body as unknown as ServedReportBody);
      return answer(200, { deployment: 'chatbot', ...body, received_at: iso(this.now()) });
    }
    const render = path.match(/^\/api\/v1\/models\/([^/]+)\/versions\/([^/]+)\/render$/);
    if (render) {
      const variables = body.variables as Record<string, string>;
      this.renders.push({ ref: `${render[1]}:${render[2]}`, variables });
      return answer(200, {
        model: render[1],
        version: Number(render[2]),
        digest: 'sha256:0',
        format: 'chat',
        messages: [
          { role: 'system', content: 'Score the answer from 0 to 1 as {"score": x}.' },
          { role: 'user', content: `Question: ${variables.input}\nAnswer: ${variables.output}` },
        ],
        params: {},
        examples: [],
      });
    }
    return answer(404, { error: { code: 'NOT_FOUND', message: `no route ${path}`, details: {} } });
  }

  private decide(b: RolloutDecisionBody): Response {
    this.decisions.push(b);
    this.racer?.();
    this.racer = null;
    const now = iso(this.now());
    const r = this.rollout;
    const current = r && (r.state === 'progressing' || r.state === 'held');
    const conflict = () => answer(409, { error: { code: 'CONFLICT', message: 'the rollout moved on', details: { rollout: r } } });
    if (b.decision === 'complete' && this.gate && current && r.id === b.rollout_id && r.step === b.expect_step)
      return answer(412, { error: { code: 'FAILED_PRECONDITION', message: this.gate, details: {} } });
    if (b.decision === 'start') {
      if (current && r.kind === b.kind && r.candidate_version === b.candidate_version) return conflict();
      const kind = b.kind ?? 'canary';
      this.rollout = {
        id: `ro_${++this.ids}`,
        deployment: 'chatbot',
        kind,
        stable_version: b.stable_version ?? null,
        candidate_version: b.candidate_version,
        state: 'progressing',
        step: 0,
        weight: kind === 'canary' ? (this.doc.steps[0]?.weight ?? 0) : kind === 'bake' ? 100 : 0,
        started_at: now,
        step_started_at: now,
        updated_at: now,
        last_decision: null,
      };
    } else {
      if (!r || !current || r.id !== b.rollout_id || r.step !== b.expect_step) return conflict();
      if (b.decision === 'advance')
        Object.assign(r, { step: r.step + 1, weight: this.doc.steps[r.step + 1]?.weight ?? 100, state: 'progressing', step_started_at: now });
      else if (b.decision === 'hold') r.state = 'held';
      else if (b.decision === 'abort') {
        Object.assign(r, { state: 'aborted', weight: 0 });
        const alias = r.kind === 'canary' ? (this.doc.candidate ?? '') : this.doc.stable;
        if (this.aliases[alias] === r.candidate_version) this.aliases[alias] = r.kind === 'canary' ? null : r.stable_version;
      } else if (b.decision === 'complete') {
        Object.assign(r, { state: 'completed', weight: 100 });
        if (r.kind === 'canary') this.aliases[this.doc.stable] = r.candidate_version;
      }
      r.updated_at = now;
    }
    this.seq++;
    return answer(200, this.rollout);
  }

  /** Another gateway advancing the current rollout first. */
  advanceElsewhere(): void {
    const r = this.rollout as Rollout;
    Object.assign(r, { step: r.step + 1, step_started_at: iso(this.now()) });
    this.seq++;
  }
}

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'berth-api': '1' } });
}

/** The data plane's view, rebuilt from the fake registry on refresh, with the split the data plane would route. */
class FakeView implements DeploymentsView {
  private live: LiveDeployment | undefined;
  private readonly listeners = new Set<(name: string, now: LiveDeployment | undefined, before: LiveDeployment | undefined) => void>();
  refreshes = 0;

  constructor(private readonly registry: FakeRegistry) {
    this.live = this.build();
  }

  private build(): LiveDeployment {
    const { doc, aliases, rollout, seq } = this.registry;
    const stable = aliases[doc.stable] ?? null;
    const weights = new Map<number, number>();
    const candidate = doc.candidate ? (aliases[doc.candidate] ?? null) : null;
    const active = rollout && (rollout.state === 'progressing' || rollout.state === 'held');
    if (doc.strategy === 'canary' && active && rollout.candidate_version === candidate && candidate !== stable) {
      weights.set(rollout.candidate_version, rollout.weight);
      if (stable !== null && rollout.weight < 100) weights.set(stable, 100 - rollout.weight);
    } else if (doc.strategy === 'blue-green' && active && rollout.stable_version !== null) weights.set(rollout.stable_version, 100);
    else if (stable !== null) weights.set(stable, 100);
    const shadowVersion = doc.strategy === 'shadow' && candidate !== stable ? candidate : null;
    return {
      name: 'chatbot',
      document: doc,
      record: { name: 'chatbot', version: 1, digest: 'sha256:0', model: 'cs-bot', document: doc, yaml: '', created_by: 'test', created_at: iso(T0) },
      aliases: { ...aliases },
      rollout: rollout ? { ...rollout } : null,
      versions: new Map(),
      weights,
      shadowVersion,
      refused: new Map(),
      seq,
    };
  }

  get(name: string): LiveDeployment | undefined {
    return name === 'chatbot' ? this.live : undefined;
  }
  all(): LiveDeployment[] {
    return this.live ? [this.live] : [];
  }
  onChange(listener: (name: string, now: LiveDeployment | undefined, before: LiveDeployment | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async refresh(name: string): Promise<void> {
    this.refreshes++;
    const before = this.live;
    if (before && before.seq === this.registry.seq) return;
    this.live = this.build();
    for (const l of this.listeners) l(name, this.live, before);
  }
}

interface Harness {
  time: FakeTime;
  registry: FakeRegistry;
  view: FakeView;
  control: ReturnType<typeof createControlPlane>;
  probes: Array<{ version: number }>;
  judged: Array<{ version: number; score: number }>;
  probeResult: ProbeResult;
  tick(ms: number): Promise<void>;
  serve(version: number, n: number, over?: Partial<RequestOutcome>): void;
  decisions(): string[];
}

const open: Harness[] = [];
after(async () => {
  for (const h of open) await h.control.stop();
});

function harness(doc: DeploymentDocument, aliases: Record<string, number | null>, reportIntervalMs = 60_000, stopTimeoutMs?: number): Harness {
  const time = new FakeTime();
  const registry = new FakeRegistry(doc, aliases, time.now);
  const view = new FakeView(registry);
  const h = {
    time,
    registry,
    view,
    probes: [] as Array<{ version: number }>,
    judged: [] as Array<{ version: number; score: number }>,
    probeResult: { ok: true, status: 200, ms: 1, error: null } as ProbeResult,
  } as Harness;
  const data: DataPlane = {
    view,
    probe: async (_d, version) => {
      h.probes.push({ version });
      return h.probeResult;
    },
    recordJudgeScore: (_d, version, score) => h.judged.push({ version, score }),
  };
  let seq = 0;
  h.control = createControlPlane(
    { client: registry.client(), data, gatewayId: 'gw-1', reportIntervalMs, now: time.now, log: () => {} },
    time,
    () => 0,
    stopTimeoutMs,
  );
  h.tick = (ms) => time.advance(ms, () => h.control.settled());
  h.serve = (version, n, over = {}) => {
    for (let i = 0; i < n; i++)
      h.control.requestFinished({
        requestId: `req_${++seq}`,
        deployment: 'chatbot',
        version,
        at: time.now(),
        latencyMs: 20 + i,
        error: false,
        tokensIn: 10,
        tokensOut: 20,
        input: { messages: [{ role: 'user', content: 'where is my parcel?' }] },
        output: 'answer',
        ...over,
      });
  };
  h.decisions = () => registry.decisions.map((d) => d.decision);
  open.push(h);
  return h;
}

function evidence(h: Harness, i: number): Record<string, any> {
  return (h.registry.decisions[i]?.evidence ?? {}) as Record<string, any>;
}

function statusOf(h: Harness): Record<string, any> {
  return h.control.status().chatbot as Record<string, any>;
}

describe('control plane: canary', () => {
  it('starts the canary and advances through its steps to completion when the SLOs pass', async () => {
    const h = harness(document(), { champion: 1, challenger: 2 });
    await h.control.settled();
    assert.deepEqual(h.registry.decisions[0], {
      decision: 'start',
      kind: 'canary',
      candidate_version: 2,
      stable_version: 1,
      gateway: 'gw-1',
      reason: 'challenger holds 2, champion holds 1',
    });
    for (const step of [0, 1]) {
      h.serve(2, 6);
      for (let i = 0; i < 5; i++) h.control.feedback('chatbot', 2, 0.9, h.time.now());
      await h.tick(800);
      assert.equal(h.registry.rollout?.step, step, 'no advance inside the pause');
      await h.tick(200);
      assert.equal(h.registry.rollout?.step, step + 1);
      const advance = h.registry.decisions.at(-1) as RolloutDecisionBody;
      assert.equal(advance.decision, 'advance');
      assert.equal(advance.expect_step, step);
      assert.equal(advance.rollout_id, 'ro_1');
      const evidence = advance.evidence as Record<string, any>;
      assert.equal(evidence.slos.verdict, 'pass');
      assert.deepEqual(evidence.samples, { requests: 6, errors: 0, p50_ms: 22, p99_ms: 25, scores: 5, feedback: 5, judge: 0 });
      assert.equal(Date.parse(evidence.window.to) - Date.parse(evidence.window.from), 1000);
    }
    h.serve(2, 6);
    for (let i = 0; i < 5; i++) h.control.feedback('chatbot', 2, 0.9, h.time.now());
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'advance', 'advance', 'complete']);
    assert.equal(h.registry.rollout?.state, 'completed');
    assert.equal(h.registry.aliases.champion, 2);
    await h.tick(1000);
    assert.equal(h.registry.decisions.length, 4, 'nothing more once the candidate is the stable');
    assert.equal(statusOf(h).rollout.state, 'completed');
  });

  it('holds once per step when below min_samples, then advances when the samples come', async () => {
    const h = harness(document(), { champion: 1, challenger: 2 });
    h.serve(2, 2);
    await h.tick(3000);
    assert.deepEqual(h.decisions(), ['start', 'hold']);
    const hold = h.registry.decisions[1] as RolloutDecisionBody;
    assert.match(hold.reason ?? '', /^inconclusive at step 0: error_rate \d of 5 samples, quality 0 of 5 samples$/);
    assert.equal(statusOf(h).rollout.state, 'held');
    assert.equal(statusOf(h).last_analysis.verdict, 'inconclusive');
    h.serve(2, 5);
    for (let i = 0; i < 5; i++) h.control.feedback('chatbot', 2, 0.8, h.time.now());
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'hold', 'advance']);
  });

  it('aborts at the first analysis after the minimum quality sample, inside the pause, on low feedback', async () => {
    const h = harness(
      document({
        steps: [
          { weight: 10, pause_ms: 60_000 },
          { weight: 100, pause_ms: 0 },
        ],
      }),
      { champion: 1, challenger: 2 },
    );
    h.serve(2, 10);
    for (let i = 0; i < 4; i++) h.control.feedback('chatbot', 2, 0.1, h.time.now());
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start'], 'four scores are under the minimum of five');
    h.control.feedback('chatbot', 2, 0.2, h.time.now());
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'abort']);
    const abort = h.registry.decisions[1] as RolloutDecisionBody;
    assert.equal(abort.reason, 'SLO broken: quality 1 > 0.2 (5 samples)');
    assert.equal((abort.evidence as any).samples.feedback, 5);
    assert.equal(h.registry.rollout?.state, 'aborted');
    assert.equal(h.registry.aliases.challenger, null, 'the candidate alias went back');
    await h.tick(2000);
    assert.deepEqual(h.decisions(), ['start', 'abort'], 'no new canary once the candidate alias is back on nothing');
  });

  it('aborts on errors over the SLO even when quality has no sample yet', async () => {
    const h = harness(document(), { champion: 1, challenger: 2 });
    h.serve(2, 4);
    h.serve(2, 2, { error: true });
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'abort']);
    assert.match(h.registry.decisions[1]?.reason ?? '', /^SLO broken: error_rate 0.3333 > 0.1 \(6 samples\)$/);
  });

  it('refreshes the view and sends no second decision when another gateway decided first (409)', async () => {
    const h = harness(document(), { champion: 1, challenger: 2 });
    h.serve(2, 6);
    for (let i = 0; i < 5; i++) h.control.feedback('chatbot', 2, 0.9, h.time.now());
    await h.control.settled();
    h.registry.racer = () => h.registry.advanceElsewhere();
    const refreshes = h.view.refreshes;
    await h.tick(1000);
    assert.deepEqual(h.decisions(), ['start', 'advance']);
    assert.equal(h.registry.rollout?.step, 1, 'the other gateway advanced it');
    assert.equal(h.view.refreshes, refreshes + 1);
    assert.equal(h.view.get('chatbot')?.rollout?.step, 1, 'the view follows the registry after the 409');
    assert.equal(statusOf(h).conflicts, 1);
    await h.tick(600);
    assert.deepEqual(h.decisions(), ['start', 'advance'], 'the new step waits for its own pause');
  });

  it('counts a 409 on start as another gateway having started it', async () => {
    const time = new FakeTime();
    const registry = new FakeRegistry(document(), { champion: 1, challenger: 2 }, time.now);
    const view = new FakeView(registry);
    registry.racer = () => {
      registry.rollout = {
        id: 'ro_other',
        deployment: 'chatbot',
        kind: 'canary',
        stable_version: 1,
        candidate_version: 2,
        state: 'progressing',
        step: 0,
        weight: 10,
        started_at: iso(T0),
        step_started_at: iso(T0),
        updated_at: iso(T0),
        last_decision: null,
      };
      registry.seq++;
    };
    const control = createControlPlane(
      {
        client: registry.client(),
        data: { view, probe: async () => ({ ok: true, status: 200, ms: 1, error: null }), recordJudgeScore: () => {} },
        gatewayId: 'gw-2',
        reportIntervalMs: 60_000,
        now: time.now,
        log: () => {},
      },
      time,
    );
    await control.settled();
    assert.deepEqual(
      registry.decisions.map((d) => d.decision),
      ['start'],
    );
    assert.equal(view.get('chatbot')?.rollout?.id, 'ro_other');
    await control.stop();
  });
});

describe('control plane: a completion refused by a policy gate (412)', () => {
  const GATE = 'promoting cs-bot:2 to champion needs 1 approval, it has 0';
  /** Starts a one-step canary whose SLOs pass, with the gate refusing its completion from T0 + 200. */
  async function refusedCanary(): Promise<Harness> {
    const h = harness(document({ steps: [{ weight: 50, pause_ms: 0 }] }), { champion: 1, challenger: 2 });
    h.registry.gate = GATE;
    h.serve(2, 6);
    for (let i = 0; i < 5; i++) h.control.feedback('chatbot', 2, 0.9, h.time.now());
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'complete']);
    return h;
  }
  const completes = (h: Harness) => h.decisions().filter((d) => d === 'complete').length;

  it('tries again after a wait doubling up to a minute, shows the refusal in status, and completes once the gate lets it', async () => {
    const h = await refusedCanary();
    assert.deepEqual(statusOf(h).refused, {
      decision: 'complete',
      rollout: 'ro_1',
      step: 0,
      candidate_version: 2,
      reason: GATE,
      attempts: 1,
      backoff_ms: 400,
      retry_at: iso(T0 + 600),
    });
    const sentAt: number[] = [];
    for (let t = 0; t < 300_000; t += 200) {
      const before = completes(h);
      await h.tick(200);
      if (completes(h) > before) sentAt.push(h.time.now() - T0);
    }
    // Twice the 200 ms analysis interval, doubling each time, then once a minute.
    assert.deepEqual(sentAt, [600, 1400, 3000, 6200, 12_600, 25_400, 51_000, 102_200, 162_200, 222_200, 282_200]);
    assert.equal(statusOf(h).refused.attempts, 12);
    assert.equal(statusOf(h).refused.backoff_ms, 60_000);
    assert.equal(h.registry.rollout?.state, 'progressing', 'the rollout stays as it was');
    assert.equal(statusOf(h).failures, 0, 'a refusal is no failure to reach the registry');

    h.registry.gate = null;
    await h.tick(60_000);
    assert.equal(h.registry.rollout?.state, 'completed');
    assert.equal(h.registry.aliases.champion, 2);
    assert.equal(statusOf(h).refused, null);
    assert.equal(completes(h), 13);
  });

  it('still aborts at once while a refused completion waits', async () => {
    const h = await refusedCanary();
    h.serve(2, 6, { error: true });
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'complete', 'abort']);
    assert.equal(h.registry.rollout?.state, 'aborted');
    await h.tick(200);
    assert.equal(statusOf(h).refused, null, 'the refusal was about a rollout that has ended');
  });
});

describe('control plane: stop', () => {
  const single = () => document({ strategy: 'single', candidate: null, steps: [] });

  it('sends the last partial window as a served report', async () => {
    const h = harness(single(), { champion: 1 }, 1000);
    h.serve(1, 2);
    await h.tick(1000);
    h.serve(1, 3);
    await h.tick(400);
    await h.control.stop();
    assert.deepEqual(
      h.registry.reports.map((r) => [r.from, r.to, r.versions.find((v) => v.version === 1)?.requests]),
      [
        [iso(T0), iso(T0 + 1000), 2],
        [iso(T0 + 1000), iso(T0 + 1400), 3],
      ],
    );
    assert.deepEqual(h.control.status(), {});
  });

  it('sends the windows kept while the registry was away before the last one', async () => {
    const h = harness(single(), { champion: 1 }, 1000);
    h.registry.down = true;
    h.serve(1, 4);
    await h.tick(1000);
    h.registry.down = false;
    h.serve(1, 1);
    await h.tick(300);
    await h.control.stop();
    assert.deepEqual(
      h.registry.reports.map((r) => [r.to, r.versions.find((v) => v.version === 1)?.requests]),
      [
        [iso(T0 + 1000), 4],
        [iso(T0 + 1300), 1],
      ],
    );
  });

  it('returns within its timeout when the registry does not answer, with a report and a decision in flight', async () => {
    const h = harness(document(), { champion: 1, challenger: 2 }, 1000, 150);
    await h.control.settled();
    h.registry.hang = true;
    h.serve(2, 6, { error: true });
    // Timers fire and their calls to the registry never end.
    await h.time.advance(1000, async () => {});
    h.time.t += 300;
    const started = performance.now();
    await h.control.stop();
    const ms = performance.now() - started;
    assert.ok(ms >= 100 && ms < 1000, `${ms} ms`);
    assert.deepEqual(h.control.status(), {});
  });
});

describe('control plane: blue-green', () => {
  const bg = () => document({ strategy: 'blue-green', candidate: null, steps: [], slos: { error_rate: null, p99_latency_ms: null, quality: null } });

  it('starts a switch when the stable alias moves and completes it after N healthy probes', async () => {
    const h = harness(bg(), { champion: 1 });
    await h.control.settled();
    assert.deepEqual(h.decisions(), []);
    h.registry.moveAlias('champion', 2);
    await h.view.refresh('chatbot');
    await h.control.settled();
    assert.deepEqual(h.registry.decisions[0], {
      decision: 'start',
      kind: 'blue-green',
      candidate_version: 2,
      stable_version: 1,
      gateway: 'gw-1',
      reason: 'champion moved from 1 to 2',
    });
    assert.deepEqual([...(h.view.get('chatbot')?.weights ?? [])], [[1, 100]], 'the old side serves until the switch');
    await h.tick(250);
    assert.deepEqual(h.decisions(), ['start']);
    assert.equal(statusOf(h).warmup.consecutive_healthy, 2);
    await h.tick(50);
    assert.deepEqual(h.decisions(), ['start', 'complete']);
    assert.deepEqual(h.probes, [{ version: 2 }, { version: 2 }, { version: 2 }]);
    assert.equal(evidence(h, 1).probes.consecutive, 3);
    await h.tick(500);
    assert.equal(h.probes.length, 3, 'probing stops with the switch');
  });

  it('aborts after the warm-up timeout when the new side never answers healthy, and starts nothing on the roll-back', async () => {
    const h = harness(bg(), { champion: 1 });
    h.probeResult = { ok: false, status: 503, ms: 1, error: null };
    h.registry.moveAlias('champion', 2);
    await h.view.refresh('chatbot');
    await h.tick(900);
    assert.deepEqual(h.decisions(), ['start']);
    await h.tick(100);
    assert.deepEqual(h.decisions(), ['start', 'abort']);
    assert.match(h.registry.decisions[1]?.reason ?? '', /^warm-up timed out after 1000 ms with 0 of 3 healthy probes$/);
    assert.equal(h.registry.aliases.champion, 1, 'the stable alias went back');
    await h.tick(1000);
    assert.deepEqual(h.decisions(), ['start', 'abort']);
  });

  it('switches back at the first analysis when the old side answered well within 30 s (berth rollback)', async () => {
    const h = harness(bg(), { champion: 1 });
    h.serve(1, 3);
    h.registry.moveAlias('champion', 2);
    await h.view.refresh('chatbot');
    await h.control.settled();
    await h.tick(300);
    assert.deepEqual(h.decisions(), ['start', 'complete']);
    h.serve(2, 3);
    await h.tick(5000);
    h.registry.moveAlias('champion', 1);
    await h.view.refresh('chatbot');
    await h.control.settled();
    assert.deepEqual(h.decisions(), ['start', 'complete', 'start', 'complete']);
    assert.equal(h.registry.decisions[2]?.candidate_version, 1);
    assert.equal(h.probes.length, 3, 'no probe was needed');
  });
  it('starts the switch at the next analysis when the registry was away at the move', async () => {
    const h = harness(bg(), { champion: 1 });
    h.registry.moveAlias('champion', 2);
    h.registry.down = true;
    await h.view.refresh('chatbot');
    await h.control.settled();
    assert.equal(statusOf(h).failures, 1);
    h.registry.down = false;
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start']);
    assert.equal(h.registry.rollout?.candidate_version, 2);
  });

  it('records nothing once stopped', async () => {
    const h = harness(bg(), { champion: 1 }, 1000);
    await h.control.stop();
    h.serve(1, 3);
    h.control.feedback('chatbot', 1, 0.1, h.time.now());
    await h.tick(5000);
    assert.deepEqual(h.registry.reports, []);
    assert.deepEqual(h.control.status(), {});
  });
});

describe('control plane: bake', () => {
  const single = () =>
    document({
      strategy: 'single',
      candidate: null,
      steps: [],
      bake_ms: 2000,
      slos: { error_rate: { max: 0.1, min_samples: 5 }, p99_latency_ms: { max: 500, min_samples: 5 }, quality: null },
    });

  it('aborts the bake when the new stable breaks an SLO', async () => {
    const h = harness(single(), { champion: 1 });
    h.registry.moveAlias('champion', 2);
    await h.view.refresh('chatbot');
    await h.control.settled();
    assert.deepEqual(h.registry.decisions[0]?.kind, 'bake');
    h.serve(2, 5, { latencyMs: 900 });
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'abort']);
    assert.equal(h.registry.decisions[1]?.reason, 'SLO broken: p99_latency_ms 900 > 500 (5 samples)');
    assert.equal(h.registry.aliases.champion, 1);
    await h.tick(1000);
    assert.deepEqual(h.decisions(), ['start', 'abort'], 'the roll-back itself starts no bake');
  });

  it('completes after bake_ms, saying whether it was conclusive', async () => {
    const h = harness(single(), { champion: 1 });
    h.registry.moveAlias('champion', 2);
    await h.view.refresh('chatbot');
    h.serve(2, 5);
    await h.tick(1800);
    assert.deepEqual(h.decisions(), ['start']);
    await h.tick(200);
    assert.deepEqual(h.decisions(), ['start', 'complete']);
    assert.equal(evidence(h, 1).conclusive, true);
    assert.equal(h.registry.decisions[1]?.reason, 'baked 2000 ms (conclusive)');
  });
});

describe('control plane: served reports', () => {
  it('reports each version with its weight, counts and quality, and keeps unsent windows while the registry is away', async () => {
    const h = harness(document({ strategy: 'shadow', steps: [], shadow: { sample: 1 } }), { champion: 1, challenger: 2 }, 1000);
    h.serve(1, 3, { tokensIn: 7, tokensOut: 11 });
    h.serve(1, 1, { error: true });
    h.control.feedback('chatbot', 1, 0.75, h.time.now());
    h.control.feedback('chatbot', 1, 0.25, h.time.now());
    h.control.shadowFinished({ deployment: 'chatbot', version: 2, at: h.time.now(), latencyMs: 40, error: false, differed: true });
    h.control.shadowFinished({ deployment: 'chatbot', version: 2, at: h.time.now(), latencyMs: 50, error: false, differed: false });
    h.control.shadowFinished({ deployment: 'chatbot', version: 2, at: h.time.now(), latencyMs: 60, error: true, differed: null });
    await h.tick(1000);
    assert.equal(h.registry.reports.length, 1);
    const [first] = h.registry.reports;
    assert.deepEqual(first, {
      gateway: 'gw-1',
      from: iso(T0),
      to: iso(T0 + 1000),
      versions: [
        {
          version: 1,
          weight: 100,
          shadow: false,
          requests: 4,
          errors: 1,
          p50_ms: 20,
          p99_ms: 22,
          tokens_in: 31,
          tokens_out: 53,
          judged: 2,
          below: 1,
          mean_score: 0.5,
        },
        {
          version: 2,
          weight: 0,
          shadow: true,
          requests: 3,
          errors: 1,
          p50_ms: 50,
          p99_ms: 60,
          tokens_in: 0,
          tokens_out: 0,
          judged: 0,
          below: 0,
          mean_score: null,
        },
      ],
      shadow: { compared: 2, differed: 1, candidate_errors: 1, diff_rate: 0.5 },
    });
    h.registry.down = true;
    h.serve(1, 2);
    await h.tick(1000);
    h.serve(1, 5);
    await h.tick(1000);
    assert.equal(statusOf(h).reports.pending, 2);
    assert.match(statusOf(h).reports.last_error, /cannot reach Berth/);
    h.registry.down = false;
    await h.tick(1000);
    assert.equal(h.registry.reports.length, 4);
    const windows = h.registry.reports.map((r) => [r.from, r.to]);
    for (let i = 1; i < windows.length; i++) assert.equal(windows[i]?.[0], windows[i - 1]?.[1], 'windows follow each other');
    assert.deepEqual(
      h.registry.reports.map((r) => r.versions.find((v) => v.version === 1)?.requests),
      [4, 2, 5, 0],
    );
    assert.equal(statusOf(h).reports.pending, 0);
  });

  it('forgets the window of a version the deployment no longer names once it is reported', async () => {
    const h = harness(document({ strategy: 'single', candidate: null, steps: [] }), { champion: 1 }, 1000);
    h.serve(1, 2);
    h.serve(7, 3);
    h.control.feedback('chatbot', 7, 0.9, h.time.now());
    assert.deepEqual(statusOf(h).windows, { 1: { requests: 2, scores: 0 }, 7: { requests: 3, scores: 1 } });
    await h.tick(1000);
    assert.deepEqual(
      h.registry.reports[0]?.versions.map((v) => [v.version, v.weight, v.requests, v.judged]),
      [
        [1, 100, 2, 0],
        [7, 0, 3, 1],
      ],
    );
    assert.deepEqual(statusOf(h).windows, { 1: { requests: 2, scores: 0 } });
  });

  it('keeps at most 60 windows while the registry is away', async () => {
    const h = harness(document({ strategy: 'single', candidate: null, steps: [] }), { champion: 1 }, 1000);
    h.registry.down = true;
    await h.tick(65_000);
    assert.deepEqual({ pending: statusOf(h).reports.pending, dropped: statusOf(h).reports.dropped }, { pending: 60, dropped: 5 });
    h.registry.down = false;
    await h.tick(1000);
    assert.equal(h.registry.reports.length, 60);
    assert.equal(h.registry.reports[0]?.from, iso(T0 + 6000), 'the oldest windows went first');
    assert.equal(h.registry.reports.at(-1)?.to, iso(T0 + 66_000));
    assert.equal(statusOf(h).reports.dropped, 6);
  });

  it('sends reports on real timers when built by the exported factory', async () => {
    const registry = new FakeRegistry(document({ strategy: 'single', candidate: null, steps: [] }), { champion: 1 }, Date.now);
    const view = new FakeView(registry);
    const control = controlPlane({
      client: registry.client(),
      data: { view, probe: async () => ({ ok: true, status: 200, ms: 1, error: null }), recordJudgeScore: () => {} },
      gatewayId: 'gw-real',
      reportIntervalMs: 20,
      now: Date.now,
      log: () => {},
    });
    control.requestFinished({
      requestId: 'req_1',
      deployment: 'chatbot',
      version: 1,
      at: Date.now(),
      latencyMs: 5,
      error: false,
      tokensIn: 1,
      tokensOut: 1,
      input: null,
      output: null,
    });
    const deadline = Date.now() + 5000;
    while (registry.reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await control.stop();
    assert.equal(registry.reports[0]?.gateway, 'gw-real');
    assert.equal(registry.reports[0]?.versions[0]?.requests, 1);
  });
});

/** An OpenAI-compatible judge on loopback: scores "bad" answers low, answers after `delayMs`, or in words with no score. */
async function startFakeJudge(): Promise<{
  url: string;
  bodies: any[];
  set(o: { delayMs?: number; words?: boolean; status?: number }): void;
  close(): Promise<void>;
}> {
  const bodies: any[] = [];
  let opts: { delayMs?: number; words?: boolean; status?: number } = {};
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const body = JSON.parse(text);
      bodies.push({ path: req.url, body });
      const prompt = body.messages.map((m: { content: string }) => m.content).join('\n');
      const score = /Answer: bad/.test(prompt) ? 0.1 : 0.9;
      const content = opts.words ? 'a fine answer, 8/10' : `{"score": ${score}}`;
      setTimeout(() => {
        res.writeHead(opts.status ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'j', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }] }));
      }, opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    bodies,
    set(o) {
      opts = o;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('control plane: judge', () => {
  it('scores sampled answers with the rubric rendered once, and aborts the canary on low judge scores', async () => {
    const judge = await startFakeJudge();
    try {
      const h = harness(document({ judge: { url: judge.url, model: 'judge-model', rubric: 'rubric:3', sample: 1, timeout_ms: 5000 } }), {
        champion: 1,
        challenger: 2,
      });
      h.serve(2, 6, { output: 'bad' });
      await h.control.settled();
      assert.equal(h.registry.renders.length, 1, 'the rubric is read once per pin');
      assert.equal(h.registry.renders[0]?.ref, 'rubric:3');
      assert.deepEqual(Object.keys(h.registry.renders[0]?.variables ?? {}).sort(), ['input', 'output']);
      assert.equal(judge.bodies.length, 6);
      assert.equal(judge.bodies[0].path, '/v1/chat/completions');
      assert.equal(judge.bodies[0].body.model, 'judge-model');
      assert.deepEqual(judge.bodies[0].body.messages[1], { role: 'user', content: 'Question: user: where is my parcel?\nAnswer: bad' });
      assert.deepEqual(h.judged.slice(0, 2), [
        { version: 2, score: 0.1 },
        { version: 2, score: 0.1 },
      ]);
      assert.deepEqual(statusOf(h).judge, { sampled: 6, scored: 6, unparsed: 0, failed: 0, dropped: 0 });
      await h.tick(200);
      assert.deepEqual(h.decisions(), ['start', 'abort']);
      assert.equal(h.registry.decisions[1]?.reason, 'SLO broken: quality 1 > 0.2 (6 samples)');
      assert.equal(evidence(h, 1).samples.judge, 6);
    } finally {
      await judge.close();
    }
  });

  it('keeps at most 8 judge calls in flight, and counts answers without a score and failed calls', async () => {
    const judge = await startFakeJudge();
    try {
      const h = harness(document({ judge: { url: judge.url, model: 'j', rubric: 'rubric:3', sample: 1, timeout_ms: 5000 } }), { champion: 1, challenger: 2 });
      judge.set({ delayMs: 100 });
      h.serve(2, 12);
      h.serve(2, 2, { output: null });
      h.serve(2, 2, { error: true });
      await h.control.settled();
      assert.deepEqual(statusOf(h).judge, { sampled: 12, scored: 8, unparsed: 0, failed: 0, dropped: 4 });
      judge.set({ words: true });
      h.serve(2, 1);
      await h.control.settled();
      judge.set({ status: 500 });
      h.serve(2, 1);
      await h.control.settled();
      assert.deepEqual(statusOf(h).judge, { sampled: 14, scored: 8, unparsed: 1, failed: 1, dropped: 4 });
    } finally {
      await judge.close();
    }
  });

  it('judges no answer when the sample share is not drawn', async () => {
    const judge = await startFakeJudge();
    try {
      const h = harness(document({ judge: { url: judge.url, model: 'j', rubric: 'rubric:3', sample: 0, timeout_ms: 5000 } }), { champion: 1, challenger: 2 });
      h.serve(2, 5);
      await h.control.settled();
      assert.equal(judge.bodies.length, 0);
      assert.equal(statusOf(h).judge.sampled, 0);
    } finally {
      await judge.close();
    }
  });
});
