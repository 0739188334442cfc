import { splitFor, type DeploymentDocument, type Rollout, type ServedAt, type ServedReport } from '@berth/core';

/** One version's figures over some reports (several gateways, or several windows). */
export interface VersionStats {
  /** `v2`, or `v3 (shadow)` for the side that only received copies. */
  label: string;
  version: number;
  shadow: boolean;
  requests: number;
  errors: number;
  errorRate: number | null;
  /** The request-weighted mean of the reports' medians: a median of medians is not exact, this is close and stable. */
  p50: number | null;
  /** The highest of the reports' p99s: the tail no gateway exceeded, never an underestimate. */
  p99: number | null;
  judged: number;
  meanScore: number | null;
}

const labelOf = (version: number, shadow: boolean) => `v${version}${shadow ? ' (shadow)' : ''}`;

/** Sums what the reports say of each version, answered versions first, then by number. */
export function versionStats(reports: readonly ServedReport[]): VersionStats[] {
  const acc = new Map<string, VersionStats & { p50Weight: number; p50Sum: number; scoreSum: number }>();
  for (const r of reports) {
    for (const v of r.versions) {
      const label = labelOf(v.version, v.shadow);
      const s = acc.get(label) ?? {
        label,
        version: v.version,
        shadow: v.shadow,
        requests: 0,
        errors: 0,
        errorRate: null,
        p50: null,
        p99: null,
        judged: 0,
        meanScore: null,
        p50Weight: 0,
        p50Sum: 0,
        scoreSum: 0,
      };
      s.requests += v.requests;
      s.errors += v.errors;
      if (v.p50_ms !== null && v.requests > 0) {
        s.p50Sum += v.p50_ms * v.requests;
        s.p50Weight += v.requests;
      }
      if (v.p99_ms !== null) s.p99 = Math.max(s.p99 ?? 0, v.p99_ms);
      if (v.mean_score !== null && v.judged > 0) {
        s.scoreSum += v.mean_score * v.judged;
        s.judged += v.judged;
      }
      acc.set(label, s);
    }
  }
  return [...acc.values()]
    .sort((a, b) => Number(a.shadow) - Number(b.shadow) || a.version - b.version)
    .map(({ p50Weight, p50Sum, scoreSum, ...s }) => ({
      ...s,
      errorRate: s.requests > 0 ? s.errors / s.requests : null,
      p50: p50Weight > 0 ? p50Sum / p50Weight : null,
      meanScore: s.judged > 0 ? scoreSum / s.judged : null,
    }));
}

/**
 * Chart series over time, in uPlot's aligned shape: `t` (epoch seconds) and, per version, one
 * value or null per time. Reports are grouped by the second their window ended, so the reports
 * of several gateways closing the same interval make one point.
 */
export interface Series {
  t: number[];
  labels: string[];
  p50: (number | null)[][];
  p99: (number | null)[][];
  errorRate: (number | null)[][];
  quality: (number | null)[][];
}

export function seriesOf(reports: readonly ServedReport[]): Series {
  const groups = new Map<number, ServedReport[]>();
  for (const r of reports) {
    const t = Math.round(Date.parse(r.to) / 1000);
    groups.set(t, [...(groups.get(t) ?? []), r]);
  }
  const t = [...groups.keys()].sort((a, b) => a - b);
  const perTime = t.map((s) => versionStats(groups.get(s) ?? []));
  const labels = [...new Set(perTime.flat().map((v) => v.label))].sort(
    (a, b) => Number(a.includes('shadow')) - Number(b.includes('shadow')) || Number(a.slice(1).split(' ')[0]) - Number(b.slice(1).split(' ')[0]),
  );
  const column = (pick: (v: VersionStats) => number | null) =>
    labels.map((label) =>
      perTime.map((vs) => {
        const v = vs.find((x) => x.label === label);
        return v ? pick(v) : null;
      }),
    );
  return {
    t,
    labels,
    p50: column((v) => v.p50),
    p99: column((v) => v.p99),
    errorRate: column((v) => (v.errorRate === null ? null : v.errorRate * 100)),
    quality: column((v) => v.meanScore),
  };
}

/** A row of the traffic split: a version, the aliases holding it, its share of client requests. */
export interface SplitRow {
  version: number;
  aliases: string[];
  weight: number;
  shadow: boolean;
}

/** The split the gateways route by now, from the same core rule they run (`splitFor`). */
export function splitNow(doc: DeploymentDocument, aliases: Readonly<Record<string, number | null>>, rollout: Rollout | null): SplitRow[] {
  const split = splitFor(doc, aliases, rollout);
  const holding = (v: number) =>
    Object.keys(aliases)
      .filter((a) => aliases[a] === v)
      .sort();
  const rows: SplitRow[] = [...split.weights].map(([version, weight]) => ({ version, aliases: holding(version), weight, shadow: false }));
  rows.sort((a, b) => a.version - b.version);
  if (split.shadow !== null) rows.push({ version: split.shadow, aliases: holding(split.shadow), weight: 0, shadow: true });
  return rows;
}

/** The split the gateways reported serving at a past time (what ran, not what was decided). */
export function splitServed(served: ServedAt): SplitRow[] {
  return served.versions.map((v) => ({ version: v.version, aliases: [], weight: v.weight, shadow: v.shadow }));
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const round = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());

/**
 * A rollout decision's evidence in a few lines a person reads: the verdict, each SLO check
 * (observed against its threshold, samples against the minimum), the window and the samples.
 * Unknown keys are listed by name, so nothing the gateway sent is hidden.
 */
export function evidenceSummary(evidence: Readonly<Record<string, unknown>>): string[] {
  const lines: string[] = [];
  const slos = evidence.slos as { verdict?: unknown; checks?: unknown } | undefined;
  if (slos && typeof slos === 'object') {
    if (typeof slos.verdict === 'string') lines.push(`SLO verdict: ${slos.verdict}`);
    for (const c of Array.isArray(slos.checks) ? slos.checks : []) {
      const check = c as Record<string, unknown>;
      const observed = num(check.observed);
      const threshold = num(check.threshold);
      lines.push(
        `${String(check.slo)}: ${observed === null ? 'no data' : round(observed)} against ${threshold === null ? '?' : round(threshold)}` +
          ` (${num(check.samples) ?? 0} samples, ${num(check.min_samples) ?? 0} needed) — ${String(check.verdict)}`,
      );
    }
  }
  const window = evidence.window as { from?: unknown; to?: unknown } | undefined;
  if (window && typeof window.from === 'string' && typeof window.to === 'string') lines.push(`Window: ${window.from} to ${window.to}`);
  const samples = evidence.samples as Record<string, unknown> | undefined;
  if (samples && typeof samples === 'object')
    lines.push(
      `Samples: ${Object.entries(samples)
        .map(([k, v]) => `${k} ${num(v) === null ? String(v) : round(num(v) as number)}`)
        .join(', ')}`,
    );
  const rest = Object.keys(evidence).filter((k) => !['slos', 'window', 'samples'].includes(k));
  if (rest.length) lines.push(`Also recorded: ${rest.sort().join(', ')}`);
  return lines;
}
