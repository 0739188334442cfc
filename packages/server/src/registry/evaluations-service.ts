import {
  BerthError,
  MAX_EVALUATION_METRICS,
  MAX_LATEST_METRICS_VERSIONS,
  MAX_METADATA_BYTES,
  checkJsonDepth,
  invalid,
  parseInstant,
  type GateEvidence,
  type GateSubject,
  type PolicyDocument,
  validateModelName,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import type { EvaluationRecord } from '../store/evaluations.js';
import { requireRole, type Actor } from './actor.js';
import { cleanReason, requireModel, requireVersion, type RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import { Keyset } from './paging.js';
import type { ResultPage } from './results.js';

/** A version's newest value of each metric, and when the newest evaluation among them was recorded. */
export interface LatestMetricsView {
  version: number;
  metrics: Record<string, number>;
  recorded_at: number | null;
}

/** An evaluation with its model's name. */
export interface EvaluationView extends EvaluationRecord {
  model: string;
}

export interface RecordEvaluationInput {
  metrics: Record<string, unknown>;
  dataset?: string | null;
  source?: string | null;
  measured_at?: string;
  details?: Record<string, unknown>;
}

/** How many evaluations of one version gate evidence carries, newest first. */
const EVIDENCE_EVALUATIONS = 500;
const MAX_LABEL_CHARS = 500;
const METRIC_NAME = /^[A-Za-z0-9_.\-/ ]{1,250}$/;

export function evaluationId(id: number): string {
  return `evl_${id}`;
}

function checkMetrics(metrics: unknown): Record<string, number> {
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics))
    throw invalid('metrics must be an object of metric name to number', { field: 'metrics' });
  const entries = Object.entries(metrics);
  if (entries.length === 0 || entries.length > MAX_EVALUATION_METRICS) {
    throw invalid(`an evaluation records 1 to ${MAX_EVALUATION_METRICS} metrics, not ${entries.length}`, { field: 'metrics' });
  }
  for (const [name, value] of entries) {
    if (!METRIC_NAME.test(name))
      throw invalid(`invalid metric name ${JSON.stringify(name)}: use 1-250 characters of letters, digits, _ . - / and spaces`, {
        field: 'metrics',
        metric: name,
      });
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`metric ${name} must be a finite number`, { field: 'metrics', metric: name });
  }
  return Object.fromEntries(entries) as Record<string, number>;
}

function checkLabel(value: string | null | undefined, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_LABEL_CHARS)
    throw invalid(`${field} must be a string of at most ${MAX_LABEL_CHARS} characters`, { field });
  return cleanReason(value);
}

async function subjectOf(tx: StoreTx, model: ModelRecord, version: VersionRecord | undefined): Promise<GateSubject> {
  if (!version) return { version: null, run_id: null, run_metrics: null, evaluations: [] };
  const [evaluations, runMetrics] = await Promise.all([
    tx.evaluations.listForVersion(model.id, version.version, { limit: EVIDENCE_EVALUATIONS }),
    version.run_id === null ? null : tx.runs.latestMetrics(version.run_id),
  ]);
  return {
    version: version.version,
    run_id: version.run_id,
    run_metrics: runMetrics,
    evaluations: evaluations.map((e) => toEvidenceEvaluation(model.name, e)),
  };
}

function toEvidenceEvaluation(model: string, e: EvaluationRecord): GateSubject['evaluations'][number] {
  return {
    id: evaluationId(e.id),
    model,
    version: e.version,
    metrics: e.metrics,
    dataset: e.dataset,
    source: e.source,
    recorded_by: e.recorded_by,
    measured_at: new Date(e.measured_at).toISOString(),
    recorded_at: new Date(e.recorded_at).toISOString(),
    details: e.details,
  };
}

/**
 * The one assembly of what gates read (GET …/gate-evidence and every promotion): the
 * candidate's evaluations and source-run metrics, and those of the current holder of each alias
 * a compare_to gate names. Inside a promotion it runs in the promotion's transaction, so the
 * report is about exactly the state the alias moves from.
 */
export async function assembleGateEvidence(tx: StoreTx, model: ModelRecord, version: VersionRecord, policy: PolicyDocument): Promise<GateEvidence> {
  const candidate = await subjectOf(tx, model, version);
  const aliases: Record<string, GateSubject> = {};
  for (const alias of new Set(policy.gates.flatMap((g) => (g.compare_to === null ? [] : [g.compare_to])))) {
    const holder = await tx.aliases.find(model.id, alias);
    aliases[alias] =
      holder?.version === version.version ? candidate : await subjectOf(tx, model, holder ? await tx.versions.find(model.id, holder.version) : undefined);
  }
  return { model: model.name, version: version.version, candidate, aliases };
}

export class EvaluationService {
  constructor(private readonly deps: RegistryDeps) {}

  /** Records measured metrics for a version, with who or what measured them and on which dataset. */
  async record(actor: Actor, name: string, version: number, input: RecordEvaluationInput): Promise<EvaluationView> {
    requireRole(actor, 'editor', 'recording an evaluation', name);
    validateModelName(name);
    const metrics = checkMetrics(input.metrics);
    const dataset = checkLabel(input.dataset, 'dataset');
    const source = checkLabel(input.source, 'source');
    const details = input.details ?? {};
    if (typeof details !== 'object' || details === null || Array.isArray(details)) throw invalid('details must be an object', { field: 'details' });
    checkJsonDepth(details, 'details', 'details');
    if (JSON.stringify(details).length > MAX_METADATA_BYTES)
      throw invalid('details are over 1 MiB: store large reports as a file in a version', { field: 'details' });
    const now = this.deps.clock.now();
    const measuredAt = input.measured_at === undefined ? now : parseInstant(input.measured_at, 'measured_at');
    return this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      await requireVersion(tx, model, version);
      const rec = await tx.evaluations.insert({
        model_id: model.id,
        version,
        metrics,
        dataset,
        source,
        details,
        recorded_by: actor.name,
        measured_at: measuredAt,
        recorded_at: now,
      });
      await recordChange(tx, actor, now, {
        action: 'evaluation.recorded',
        subject: { type: 'version', model, version },
        after: { evaluation: evaluationId(rec.id), metrics, dataset, source },
      });
      return { ...rec, model: model.name };
    });
  }

  /**
   * The newest value of each metric for a page of versions (`versions`: "3,2,1"), as gates read
   * them (the newest evaluation that has the metric wins, among a version's newest
   * EVIDENCE_EVALUATIONS); with `at`, only evaluations recorded at or before then. Versions that
   * do not exist are left out, so a page that raced a deletion still answers.
   */
  async latestMetrics(name: string, versions: unknown, opts: { at?: unknown } = {}): Promise<LatestMetricsView[]> {
    validateModelName(name);
    const wanted = parseVersionList(versions);
    const until = opts.at === undefined ? undefined : parseInstant(opts.at, 'at');
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const created = await tx.versions.createdAt(model.id, wanted);
    const found = await Promise.all(
      wanted.map(async (version) => {
        const at = created.get(version);
        if (at === undefined || (until !== undefined && at > until)) return undefined;
        const rows = await tx.evaluations.listForVersion(model.id, version, { limit: EVIDENCE_EVALUATIONS, until });
        const metrics: Record<string, number> = {};
        for (const e of rows) for (const [k, value] of Object.entries(e.metrics)) if (!(k in metrics)) metrics[k] = value;
        return { version, metrics, recorded_at: rows[0]?.recorded_at ?? null };
      }),
    );
    return found.filter((r): r is LatestMetricsView => r !== undefined);
  }

  /** A version's evaluations, newest first. */
  async list(name: string, version: number, opts: { cursor?: string; limit?: unknown }): Promise<ResultPage<EvaluationView>> {
    validateModelName(name);
    const keyset = new Keyset(opts, 'e', Number);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    await requireVersion(tx, model, version);
    const rows = await tx.evaluations.listForVersion(model.id, version, { before: keyset.after, limit: keyset.fetch });
    const page = keyset.page(rows, (e) => e.id);
    return { items: page.items.map((e) => ({ ...e, model: model.name })), next_cursor: page.next_cursor };
  }
}

/** "3,2,1" → [3, 2, 1]: 1 to MAX_LATEST_METRICS_VERSIONS distinct version numbers, in the order given. */
function parseVersionList(value: unknown): number[] {
  const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [];
  const versions = [...new Set(parts.map(Number))];
  const bad = parts.find((p) => !/^[1-9][0-9]{0,9}$/.test(p) || Number(p) > 2 ** 31 - 1);
  if (parts.length === 0 || bad !== undefined)
    throw invalid(`versions must be a comma-separated list of version numbers such as 3,2,1${bad !== undefined ? `, not ${JSON.stringify(bad)}` : ''}`, {
      field: 'versions',
    });
  if (versions.length > MAX_LATEST_METRICS_VERSIONS)
    throw invalid(`at most ${MAX_LATEST_METRICS_VERSIONS} versions per request, not ${versions.length}: ask page by page`, { field: 'versions' });
  return versions;
}

/** The refusal of a version that cannot be promoted because it is not READY. */
export function notReady(model: string, version: VersionRecord): BerthError {
  return new BerthError('FAILED_PRECONDITION', `version ${model}:${version.version} is ${version.status}, not READY: only a READY version can be promoted`, {
    model,
    version: version.version,
    status: version.status,
  });
}
