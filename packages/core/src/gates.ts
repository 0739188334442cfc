import type { Evaluation, GateEvidence, GateReport, GateResult, GateSubject, PolicyDocument, PolicyGate } from './governance-schemas.js';
import { closestName } from './policy.js';

/**
 * The one gate function (issue 9): `berth gate check` and the server's promote both call it on
 * the same evidence (GET …/gate-evidence), so CI and the registry cannot disagree. Pure: no
 * I/O, no clock. For each metric the newest evaluation wins (evidence lists them newest first)
 * unless the gate or the policy pins a dataset; `run:<metric>` reads the source run's metric.
 */
const RUN_PREFIX = 'run:';

interface Observation {
  value: number | null;
  evaluation: string | null;
  missing: string;
}

/** `golden-set` matches any digest of that dataset; `golden-set@sha256:…` only that digest. */
function datasetMatches(pin: string, dataset: string | null): boolean {
  if (dataset === null) return false;
  return pin.includes('@') ? dataset === pin : dataset === pin || dataset.startsWith(`${pin}@`);
}

function observe(subject: GateSubject, metric: string, dataset: string | null, label: string): Observation {
  if (metric.startsWith(RUN_PREFIX)) {
    const name = metric.slice(RUN_PREFIX.length);
    if (subject.run_metrics === null) return { value: null, evaluation: null, missing: `${label} has no source run to read ${name} from` };
    const value = subject.run_metrics[name];
    if (value !== undefined) return { value, evaluation: null, missing: '' };
    const hint = closestName(name, Object.keys(subject.run_metrics));
    return { value: null, evaluation: null, missing: `no metric ${name} in run ${subject.run_id} of ${label}${hint ? ` (did you mean run:${hint}?)` : ''}` };
  }
  const found = subject.evaluations.find((e: Evaluation) => e.metrics[metric] !== undefined && (dataset === null || datasetMatches(dataset, e.dataset)));
  if (found) return { value: found.metrics[metric] ?? null, evaluation: found.id, missing: '' };
  const recorded = new Set(subject.evaluations.flatMap((e) => Object.keys(e.metrics)));
  const hint = recorded.has(metric) ? undefined : closestName(metric, recorded);
  const on = dataset === null ? '' : ` on dataset ${dataset}`;
  return { value: null, evaluation: null, missing: `no evaluation of metric ${metric}${on} for ${label}${hint ? ` (did you mean ${hint}?)` : ''}` };
}

/** Numbers as people write thresholds: `0.90`, `0.923`, `412`. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const trimmed = n.toFixed(6).replace(/0+$/, '');
  const decimals = trimmed.length - trimmed.indexOf('.') - 1;
  return decimals < 2 ? n.toFixed(2) : trimmed;
}

const UNITS: ReadonlyArray<readonly [string, string]> = [
  ['_ms', 'ms'],
  ['_seconds', 's'],
  ['_pct', '%'],
];

/**
 * What a gate line calls its value: the gate's name, or the metric's words when they qualify it
 * (`latency` on `p99_latency_ms` reads `p99 latency 412ms`), with the metric's unit.
 */
function labelOf(gate: PolicyGate): { label: string; unit: string } {
  let base = gate.metric.startsWith(RUN_PREFIX) ? gate.metric.slice(RUN_PREFIX.length) : gate.metric;
  let unit = '';
  for (const [suffix, shown] of UNITS) {
    if (base.endsWith(suffix)) {
      base = base.slice(0, -suffix.length);
      unit = shown;
    }
  }
  const words = base.replace(/[_.]+/g, ' ').trim();
  return { label: words.endsWith(` ${gate.name}`) ? words : gate.name, unit };
}

function evaluateGate(gate: PolicyGate, policy: PolicyDocument, evidence: GateEvidence): GateResult {
  const dataset = gate.dataset ?? policy.dataset;
  const { label, unit } = labelOf(gate);
  const show = (n: number) => `${formatNumber(n)}${unit}`;
  const result: GateResult = {
    name: gate.name,
    metric: gate.metric,
    passed: true,
    observed: null,
    threshold: null,
    message: '',
    evaluation: null,
    compare_to: gate.compare_to,
    compared_version: null,
    compared_value: null,
    delta: null,
  };
  const candidate = observe(evidence.candidate, gate.metric, dataset, `${evidence.model}:${evidence.version}`);
  result.observed = candidate.value;
  result.evaluation = candidate.evaluation;
  if (candidate.value === null) return { ...result, passed: false, message: `${gate.name}: ${candidate.missing}` };
  const observed = candidate.value;

  const parts: string[] = [];
  if (gate.min !== null || gate.max !== null) {
    const bounds: string[] = [];
    if (gate.min !== null) {
      bounds.push(`>= ${show(gate.min)}`);
      result.passed &&= observed >= gate.min;
    }
    if (gate.max !== null) {
      bounds.push(`<= ${show(gate.max)}`);
      result.passed &&= observed <= gate.max;
    }
    result.threshold = gate.min ?? gate.max;
    parts.push(`${label} ${show(observed)} ${bounds.join(' and ')}`);
  }
  if (gate.compare_to !== null) {
    const holder = evidence.aliases[gate.compare_to];
    if (holder === undefined || holder.version === null) {
      parts.push(`${gate.name}: ${gate.compare_to} is unset, nothing to compare with (first promotion)`);
    } else {
      result.compared_version = holder.version;
      const compared = observe(holder, gate.metric, dataset, `${evidence.model}:${holder.version} (${gate.compare_to})`);
      if (compared.value === null) {
        result.passed = false;
        parts.push(`${gate.name}: ${compared.missing}`);
      } else {
        const maxDrop = gate.max_drop ?? 0;
        const delta = observed - compared.value;
        result.compared_value = compared.value;
        result.delta = delta;
        if (gate.min === null && gate.max === null) result.threshold = compared.value - maxDrop;
        const within = delta >= -maxDrop - 1e-12;
        result.passed &&= within;
        const sign = delta >= 0 ? '+' : '-';
        const allowed = within ? '' : `, max drop ${show(maxDrop)}`;
        parts.push(`candidate ${show(observed)} vs ${gate.compare_to} ${show(compared.value)} (delta ${sign}${show(Math.abs(delta))}${allowed})`);
      }
    }
  }
  return { ...result, message: parts.join('; ') };
}

export function evaluateGates(policy: PolicyDocument, evidence: GateEvidence): GateReport {
  const gates = policy.gates.map((gate) => evaluateGate(gate, policy, evidence));
  return { passed: gates.every((g) => g.passed), gates };
}

/** One line per gate: `[gate-1] accuracy 0.923 >= 0.90 PASS`. */
export function formatGateReport(report: GateReport): string[] {
  return report.gates.map((gate, i) => `[gate-${i + 1}] ${gate.message} ${gate.passed ? 'PASS' : 'FAIL'}`);
}

/** The failing lines alone, for the message of a refused promotion. */
export function failingGateLines(report: GateReport): string[] {
  return formatGateReport(report).filter((_, i) => !report.gates[i]?.passed);
}
