import {
  BerthError,
  HTTP_STATUS,
  evaluateSlos,
  nextRolloutAction,
  type Rollout,
  type RolloutDecisionBody,
  type RolloutKind,
  type ServedReportBody,
  type SloEvaluation,
} from '@berth/core';
import type { ControlOptions, ControlPlane, LiveDeployment, RequestOutcome, ShadowOutcome } from '../contract.js';
import { Judge } from './judge.js';
import { DeploymentStats } from './stats.js';

/** Served reports kept while the registry is away; the oldest goes first beyond this. */
const MAX_PENDING_REPORTS = 60;
/** The longest wait before trying again a decision the registry refused with 412 (a policy gate). */
const MAX_REFUSAL_BACKOFF_MS = 60_000;
/** How long `stop()` may spend on work in flight and the last report window: an absent registry never holds up a shutdown. */
const STOP_TIMEOUT_MS = 2000;

/** Repeating work, so tests can drive the loops with a fake clock. */
export interface Timers {
  every(ms: number, fn: () => void): () => void;
}

const realTimers: Timers = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

interface LastAnalysis {
  at: string;
  rollout: string | null;
  step: number | null;
  decision: string;
  reason: string;
  verdict: SloEvaluation['verdict'] | null;
  checks: SloEvaluation['checks'];
  samples: Record<string, number> | null;
}

/**
 * A decision the registry refused with 412 FAILED_PRECONDITION (a policy gate on the promotion a
 * canary's completion makes: approvals, checks). The same decision on the same rollout step is
 * not sent again before `retryAt`; the wait doubles with each refusal, from twice the analysis
 * interval up to MAX_REFUSAL_BACKOFF_MS. Any other decision (an abort) goes out at once.
 */
interface Refusal {
  key: string;
  decision: RolloutDecisionBody['decision'];
  rollout: string | null;
  step: number | null;
  candidate: number;
  reason: string;
  attempts: number;
  backoffMs: number;
  retryAt: number;
}

interface Watch {
  name: string;
  stats: DeploymentStats;
  analysisEvery: number;
  stopAnalysis: (() => void) | null;
  stopReports: () => void;
  probing: { rolloutId: string; stop: () => void } | null;
  /** Consecutive healthy probes of the blue-green rollout being warmed. */
  healthy: { rolloutId: string; consecutive: number; priorHealthyAt: number | null };
  /** When each version last answered well (a healthy probe or a client answer without error). */
  lastHealthyAt: Map<number, number>;
  /** The stable alias moved (seen on a view change): a blue-green switch or a bake may start. */
  moved: { from: number; to: number } | null;
  running: Promise<void> | null;
  again: boolean;
  last: LastAnalysis | null;
  decisions: number;
  conflicts: number;
  failures: number;
  refused: Refusal | null;
  pending: ServedReportBody[];
  /** The send of pending reports in progress: one at a time, so each window is sent once and in order. */
  sending: Promise<void> | null;
  windowFrom: number;
  reportsSent: number;
  reportsDropped: number;
  lastReportError: string | null;
}

/** `deferred`: not sent, the registry refused this very decision lately (see Refusal). */
type Decided = 'sent' | 'conflict' | 'failed' | 'deferred';

const refusalKey = (b: RolloutDecisionBody) => [b.decision, b.kind ?? '', b.rollout_id ?? '', b.expect_step ?? '', b.candidate_version].join(':');

function active(r: Rollout | null | undefined): r is Rollout {
  return !!r && (r.state === 'progressing' || r.state === 'held');
}

/** The control plane (decision 0023): statistics, analysis and rollout decisions, the judge, served reports. */
export function createControlPlane(
  opts: ControlOptions,
  timers: Timers = realTimers,
  random: () => number = Math.random,
  stopTimeoutMs: number = STOP_TIMEOUT_MS,
): ControlPlane & {
  /** Resolves when no analysis, report or judge call is in flight. */
  settled(): Promise<void>;
} {
  const { client, data, gatewayId, now, log } = opts;
  const startedAt = now();
  const watches = new Map<string, Watch>();
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;
  let stopping: Promise<void> | null = null;
  const judge = new Judge(
    client,
    (deployment, version, score) => {
      recordScore(deployment, version, score, 'judge', now());
      data.recordJudgeScore(deployment, version, score);
    },
    log,
    random,
  );

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  }

  function watch(live: LiveDeployment): Watch {
    let w = watches.get(live.name);
    if (!w) {
      const name = live.name;
      w = {
        name,
        stats: new DeploymentStats(random),
        analysisEvery: 0,
        stopAnalysis: null,
        stopReports: timers.every(opts.reportIntervalMs, () => void track(report(name))),
        probing: null,
        healthy: { rolloutId: '', consecutive: 0, priorHealthyAt: null },
        lastHealthyAt: new Map(),
        moved: null,
        running: null,
        again: false,
        last: null,
        decisions: 0,
        conflicts: 0,
        failures: 0,
        refused: null,
        pending: [],
        sending: null,
        windowFrom: now(),
        reportsSent: 0,
        reportsDropped: 0,
        lastReportError: null,
      };
      watches.set(name, w);
    }
    if (w.analysisEvery !== live.document.analysis_interval_ms) {
      w.stopAnalysis?.();
      w.analysisEvery = live.document.analysis_interval_ms;
      w.stopAnalysis = timers.every(w.analysisEvery, () => analyse(live.name));
    }
    return w;
  }

  function stopTimers(w: Watch): void {
    w.stopAnalysis?.();
    w.stopReports();
    w.probing?.stop();
  }

  function unwatch(name: string): void {
    const w = watches.get(name);
    if (!w) return;
    stopTimers(w);
    watches.delete(name);
  }

  function recordScore(deployment: string, version: number, score: number, source: 'feedback' | 'judge', at: number): void {
    const live = stopped ? undefined : data.view.get(deployment);
    if (!live) return;
    watch(live).stats.score(version, score, source, at, live.document.slos.quality?.min_score ?? null);
  }

  /** Runs one analysis of a deployment, or marks one to run right after the one in progress. */
  function analyse(name: string): void {
    const w = watches.get(name);
    if (!w || stopped) return;
    if (w.running) {
      w.again = true;
      return;
    }
    w.running = track(
      (async () => {
        do {
          w.again = false;
          try {
            await analyseOnce(w);
          } catch (err) {
            w.failures++;
            log('error', 'analysis failed', { deployment: name, error: String((err as Error)?.message ?? err) });
          }
        } while (w.again && !stopped);
      })().finally(() => {
        w.running = null;
      }),
    );
  }

  async function analyseOnce(w: Watch): Promise<void> {
    const live = data.view.get(w.name);
    if (!live) return;
    const doc = live.document;
    const stableHolder = live.aliases[doc.stable] ?? null;
    const moved = w.moved;
    w.moved = null;
    // The registry rolling the stable alias back after an abort is not a move to roll out.
    const undo = live.rollout?.state === 'aborted' && live.rollout.candidate_version === moved?.from && live.rollout.stable_version === moved.to;
    if (moved && !undo && moved.to === stableHolder && live.rollout?.candidate_version !== moved.to) {
      const kind: RolloutKind | null = doc.strategy === 'blue-green' ? 'blue-green' : doc.strategy !== 'canary' && doc.bake_ms > 0 ? 'bake' : null;
      if (kind) {
        // A start the registry could not take (away, 5xx) is tried again at the next analysis.
        const started = await start(w, kind, moved.to, moved.from, `${doc.stable} moved from ${moved.from} to ${moved.to}`);
        if (started === 'failed' || started === 'deferred') w.moved ??= moved;
        return;
      }
    }
    if (doc.strategy === 'canary' && doc.candidate) {
      const candidate = live.aliases[doc.candidate] ?? null;
      if (candidate !== null && candidate !== stableHolder && live.rollout?.candidate_version !== candidate) {
        await start(w, 'canary', candidate, stableHolder, `${doc.candidate} holds ${candidate}, ${doc.stable} holds ${stableHolder}`);
        return;
      }
    }
    const rollout = live.rollout;
    const refused = w.refused;
    if (refused && refused.rollout !== null && (!active(rollout) || rollout.id !== refused.rollout || rollout.step !== refused.step)) w.refused = null;
    if (!active(rollout)) {
      w.probing?.stop();
      w.probing = null;
      return;
    }
    if (rollout.kind === 'blue-green') probe(w, live, rollout);
    else {
      w.probing?.stop();
      w.probing = null;
    }
    const t = now();
    const from = Math.max(Date.parse(rollout.step_started_at), startedAt);
    const stats = w.stats.window(rollout.candidate_version, from, t);
    const evaluation = evaluateSlos(doc.slos, stats);
    if (w.healthy.rolloutId !== rollout.id)
      w.healthy = { rolloutId: rollout.id, consecutive: 0, priorHealthyAt: w.lastHealthyAt.get(rollout.candidate_version) ?? null };
    const action = nextRolloutAction({
      document: doc,
      rollout,
      evaluation,
      candidateHolder: doc.candidate ? (live.aliases[doc.candidate] ?? null) : null,
      probes: { consecutive: w.healthy.consecutive, lastHealthyAt: w.healthy.priorHealthyAt },
      now: t,
    });
    const samples = {
      requests: stats.requests,
      errors: stats.errors,
      p50_ms: stats.p50_ms,
      p99_ms: stats.p99_ms,
      scores: stats.scores.length,
      feedback: stats.feedback,
      judge: stats.judge,
    };
    w.last = {
      at: new Date(t).toISOString(),
      rollout: rollout.id,
      step: rollout.step,
      decision: action.decision,
      reason: action.reason,
      verdict: rollout.kind === 'blue-green' ? null : evaluation.verdict,
      checks: rollout.kind === 'blue-green' ? [] : evaluation.checks,
      samples: { requests: stats.requests, errors: stats.errors, scores: stats.scores.length },
    };
    if (action.decision === 'wait') return;
    const evidence: Record<string, unknown> = {
      slos: evaluation,
      window: { from: new Date(from).toISOString(), to: new Date(t).toISOString() },
      samples,
      ...(rollout.kind === 'blue-green'
        ? { probes: { consecutive: w.healthy.consecutive, checks: doc.warmup.checks, prior_healthy_at: w.healthy.priorHealthyAt } }
        : {}),
      ...(rollout.kind === 'bake' && action.decision === 'complete' ? { conclusive: evaluation.verdict === 'pass' } : {}),
    };
    await decide(w, {
      decision: action.decision,
      candidate_version: rollout.candidate_version,
      rollout_id: rollout.id,
      expect_step: rollout.step,
      gateway: gatewayId,
      reason: action.reason,
      evidence,
    });
  }

  async function start(w: Watch, kind: RolloutKind, candidate: number, stable: number | null, why: string): Promise<Decided> {
    w.last = {
      at: new Date(now()).toISOString(),
      rollout: null,
      step: null,
      decision: 'start',
      reason: `${kind} of ${candidate}: ${why}`,
      verdict: null,
      checks: [],
      samples: null,
    };
    return decide(w, { decision: 'start', kind, candidate_version: candidate, stable_version: stable, gateway: gatewayId, reason: why });
  }

  /**
   * Sends a decision; a 409 means another gateway decided first. Either way the view is read again.
   * A 412 (the registry's policy gate refused it; the rollout stays as it was) backs off.
   */
  async function decide(w: Watch, body: RolloutDecisionBody): Promise<Decided> {
    const key = refusalKey(body);
    if (w.refused?.key === key && now() < w.refused.retryAt) return 'deferred';
    let outcome: Decided = 'sent';
    try {
      await client.decideRollout(w.name, body);
      w.decisions++;
      w.refused = null;
      log('info', `rollout ${body.decision}`, { deployment: w.name, candidate: body.candidate_version, reason: body.reason });
    } catch (err) {
      if (err instanceof BerthError && err.code === 'FAILED_PRECONDITION') {
        const attempts = (w.refused?.key === key ? w.refused.attempts : 0) + 1;
        const backoffMs = Math.min(w.analysisEvery * 2 ** attempts, MAX_REFUSAL_BACKOFF_MS);
        w.refused = {
          key,
          decision: body.decision,
          rollout: body.rollout_id ?? null,
          step: body.expect_step ?? null,
          candidate: body.candidate_version,
          reason: err.message,
          attempts,
          backoffMs,
          retryAt: now() + backoffMs,
        };
        log('warn', `rollout ${body.decision} refused: trying again in ${backoffMs} ms`, { deployment: w.name, attempts, error: err.message });
        return 'failed';
      }
      if (!(err instanceof BerthError) || err.code !== 'CONFLICT') {
        w.failures++;
        log('warn', `rollout ${body.decision} failed`, { deployment: w.name, error: String((err as Error)?.message ?? err) });
        return 'failed';
      }
      outcome = 'conflict';
      w.conflicts++;
      log('info', `rollout ${body.decision}: another gateway decided first`, { deployment: w.name });
    }
    await data.view.refresh(w.name);
    return outcome;
  }

  /** Blue-green warm-up: the new side is probed every warmup.interval_ms while its rollout progresses. */
  function probe(w: Watch, live: LiveDeployment, rollout: Rollout): void {
    if (w.probing?.rolloutId === rollout.id) return;
    w.probing?.stop();
    const version = rollout.candidate_version;
    const stop = timers.every(live.document.warmup.interval_ms, () => {
      void track(
        data.probe(w.name, version).then(
          (r) => {
            if (w.healthy.rolloutId !== rollout.id) return;
            if (r.ok) {
              w.healthy.consecutive++;
              w.lastHealthyAt.set(version, now());
            } else w.healthy.consecutive = 0;
            analyse(w.name);
          },
          (err) => log('warn', 'probe failed', { deployment: w.name, version, error: String(err) }),
        ),
      );
    });
    w.probing = { rolloutId: rollout.id, stop };
  }

  /** Closes the current report window and sends the pending ones. */
  async function report(name: string): Promise<void> {
    const w = watches.get(name);
    if (!w) return;
    closeWindow(w);
    await send(w);
  }

  function closeWindow(w: Watch): void {
    const live = data.view.get(w.name);
    if (!live) return;
    const to = now();
    if (to <= w.windowFrom) return;
    const { versions, shadow } = w.stats.takeReport(live.weights, live.shadowVersion);
    w.pending.push({ gateway: gatewayId, from: new Date(w.windowFrom).toISOString(), to: new Date(to).toISOString(), versions, shadow });
    w.windowFrom = to;
    const keep = new Set<number>([...live.weights.keys(), ...Object.values(live.aliases).filter((v): v is number => v !== null)]);
    if (live.shadowVersion !== null) keep.add(live.shadowVersion);
    if (live.rollout) keep.add(live.rollout.candidate_version).add(live.rollout.stable_version ?? live.rollout.candidate_version);
    w.stats.prune(keep);
    for (const n of w.lastHealthyAt.keys()) if (!keep.has(n)) w.lastHealthyAt.delete(n);
    while (w.pending.length > MAX_PENDING_REPORTS) {
      w.pending.shift();
      w.reportsDropped++;
    }
  }

  /** Sends the pending windows oldest first; a window closed while a send runs goes with it. */
  function send(w: Watch, signal?: AbortSignal): Promise<void> {
    w.sending ??= sendPending(w, signal).finally(() => {
      w.sending = null;
    });
    return w.sending;
  }

  async function sendPending(w: Watch, signal?: AbortSignal): Promise<void> {
    const name = w.name;
    while (w.pending.length > 0) {
      const body = w.pending[0] as ServedReportBody;
      try {
        await client.reportServed(name, body, { signal });
        w.reportsSent++;
        w.lastReportError = null;
      } catch (err) {
        w.lastReportError = String((err as Error)?.message ?? err);
        // The registry refusing a report (4xx) will refuse it again: it is dropped. Anything else
        // (unreachable, 5xx, a shutdown that could not wait) keeps it for the next window.
        if (err instanceof BerthError && HTTP_STATUS[err.code] < 500) {
          w.reportsDropped++;
          log('warn', 'served report refused', { deployment: name, error: w.lastReportError });
        } else {
          log('warn', 'served report not sent: kept for the next window', { deployment: name, pending: w.pending.length, error: w.lastReportError });
          return;
        }
      }
      w.pending.shift();
    }
  }

  /** Lets work in flight finish and sends the last partial window of each deployment, all within stopTimeoutMs. */
  async function shutdown(): Promise<void> {
    unsubscribe();
    for (const w of watches.values()) stopTimers(w);
    // A timer that holds the process up: the shutdown waits for it, or for the work, whichever ends first.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`stop took over ${stopTimeoutMs} ms`)), stopTimeoutMs);
    const expired = new Promise<void>((resolve) => deadline.signal.addEventListener('abort', () => resolve(), { once: true }));
    const drain = async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await judge.settled();
    };
    await Promise.race([drain(), expired]);
    const finals = [...watches.values()].map(async (w) => {
      closeWindow(w);
      // A send of the periodic reports still running has no deadline of its own: let it end first.
      if (w.sending) await w.sending;
      await send(w, deadline.signal);
    });
    await Promise.race([Promise.allSettled(finals), expired]);
    clearTimeout(timer);
    if (deadline.signal.aborted) log('warn', 'stopped before all work in flight and the last served reports were done', { timeout_ms: stopTimeoutMs });
    watches.clear();
  }

  const unsubscribe = data.view.onChange((name, live, before) => {
    if (stopped) return;
    if (!live) {
      unwatch(name);
      return;
    }
    const w = watch(live);
    const from = before?.aliases[before.document.stable] ?? null;
    const to = live.aliases[live.document.stable] ?? null;
    // While a blue-green switch is still warming, the side actually serving is the rollout's old one.
    const serving = before && active(before.rollout) && before.rollout.kind === 'blue-green' ? before.rollout.stable_version : from;
    if (serving !== null && to !== null && serving !== to) w.moved = { from: serving, to };
    analyse(name);
  });
  for (const live of data.view.all()) {
    watch(live);
    analyse(live.name);
  }

  return {
    requestFinished(o: RequestOutcome): void {
      const live = stopped ? undefined : data.view.get(o.deployment);
      if (!live) return;
      const w = watch(live);
      w.stats.request(o);
      if (!o.error) w.lastHealthyAt.set(o.version, o.at);
      judge.consider(o, live.document.judge);
    },
    shadowFinished(o: ShadowOutcome): void {
      const live = stopped ? undefined : data.view.get(o.deployment);
      if (live) watch(live).stats.shadowCopy(o);
    },
    feedback(deployment: string, version: number, score: number, at: number): void {
      recordScore(deployment, version, score, 'feedback', at);
    },
    status(): Record<string, unknown> {
      const out: Record<string, unknown> = {};
      for (const [name, w] of watches) {
        const r = data.view.get(name)?.rollout ?? null;
        out[name] = {
          rollout: r
            ? {
                id: r.id,
                kind: r.kind,
                state: r.state,
                step: r.step,
                weight: r.weight,
                candidate_version: r.candidate_version,
                stable_version: r.stable_version,
              }
            : null,
          last_analysis: w.last,
          decisions: w.decisions,
          conflicts: w.conflicts,
          failures: w.failures,
          warmup: w.probing ? { rollout: w.probing.rolloutId, consecutive_healthy: w.healthy.consecutive } : null,
          windows: w.stats.held(),
          judge: judge.countersOf(name),
          refused: w.refused
            ? {
                decision: w.refused.decision,
                rollout: w.refused.rollout,
                step: w.refused.step,
                candidate_version: w.refused.candidate,
                reason: w.refused.reason,
                attempts: w.refused.attempts,
                backoff_ms: w.refused.backoffMs,
                retry_at: new Date(w.refused.retryAt).toISOString(),
              }
            : null,
          reports: { pending: w.pending.length, sent: w.reportsSent, dropped: w.reportsDropped, last_error: w.lastReportError },
        };
      }
      return out;
    },
    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await judge.settled();
      if (inFlight.size > 0) await this.settled();
    },
    stop(): Promise<void> {
      stopped = true;
      stopping ??= shutdown();
      return stopping;
    },
  };
}
