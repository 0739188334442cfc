import { randomBytes } from 'node:crypto';
import { decodeOffsetToken, encodeOffsetToken, invalid, notFound, validateTags, type LogRunBody, type RunFilterClause, type RunOrderKey } from '@berth/core';
import type { RunRecord, MetricPoint, RunDataset, RunScope } from '../store/runs.js';
import type { StoreTx } from '../store/store.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import type { ExperimentService } from './experiments-service.js';
import {
  checkPage,
  DEFAULT_EXPERIMENT,
  type ExperimentRecord,
  type RunWithLatestMetrics,
  type RunWithMetrics,
  type TrackingPage,
  type ViewType,
} from './tracking.js';

/** What one log call adds to a run, whichever front it came through. */
export interface RunLog {
  params?: Record<string, string>;
  tags?: Record<string, string>;
  metrics?: MetricPoint[];
  status?: string;
  end_time?: number;
  run_name?: string;
  outputs?: { model_id: string; step: number }[];
  datasets?: RunDataset[];
}

const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

function checkStringMap(m: unknown, field: string): Record<string, string> {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid(`${field} must be an object of strings`, { field });
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string' || k.length === 0 || k.length > 250 || v.length > 6000)
      throw invalid(`${field}.${k} must be a string of at most 6000 characters`, { field });
  }
  return m as Record<string, string>;
}

/** A run id Berth accepts from a client (its own are 32 hex digits). */
export function checkRunId(id: unknown): string {
  if (typeof id !== 'string' || !RUN_ID.test(id)) throw invalid('run_id must be 1-64 characters of A-Z a-z 0-9 _ -', { field: 'run_id' });
  return id;
}

function checkLog(log: RunLog): void {
  if (log.status !== undefined && !RUN_STATUSES.includes(log.status))
    throw invalid(`Invalid run status ${log.status}: use one of ${RUN_STATUSES.join(', ')}`, { field: 'status' });
  for (const m of log.metrics ?? []) {
    if (typeof m.key !== 'string' || m.key === '' || typeof m.value !== 'number')
      throw invalid('each metric needs a key and a numeric value', { field: 'metrics' });
  }
  for (const d of log.datasets ?? []) {
    if (typeof d.name !== 'string' || d.name === '' || typeof d.digest !== 'string' || d.digest === '')
      throw invalid('each dataset needs a name and a digest', { field: 'datasets' });
  }
}

function missing(id: string) {
  return notFound(`Run with id=${id} not found`, { run_id: id });
}

/**
 * A run's lifecycle stage as MLflow shows it: deleting an experiment deletes its runs. Berth
 * keeps each run's own stage and derives the rest from the experiment, so restoring the
 * experiment brings back exactly the runs that were active when it was deleted.
 */
function effectiveStage(run: RunRecord, experiment: ExperimentRecord | undefined): string {
  if (experiment?.lifecycle_stage === 'deleted') return 'deleted';
  return run.lifecycle_stage ?? 'active';
}

function withStage(run: RunRecord, experiment: ExperimentRecord | undefined): RunRecord {
  const stage = effectiveStage(run, experiment);
  return stage === run.lifecycle_stage ? run : { ...run, lifecycle_stage: stage };
}

/**
 * Runs, as the native API and MLflow's tracking API both see them: one record, one set of
 * rules (the status list; params never change once logged; a deleted run takes no more logs).
 */
export class RunService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly experiments: ExperimentService,
  ) {}

  /** The native API's run: created with params and tags at once, in an experiment named freely. */
  async create(
    actor: Actor,
    input: { experiment?: string; name?: string; params?: Record<string, string>; tags?: Record<string, string>; run_id?: string },
  ): Promise<RunWithLatestMetrics> {
    requireRole(actor, 'editor', 'creating a run');
    const params = checkStringMap(input.params ?? {}, 'params');
    const tags = validateTags(input.tags ?? {});
    const experiment = input.experiment ?? 'Default';
    if (typeof experiment !== 'string' || experiment.length === 0 || experiment.length > 256)
      throw invalid('experiment must be a name of 1-256 characters', { field: 'experiment' });
    const id = checkRunId(input.run_id ?? randomBytes(16).toString('hex'));
    const now = this.deps.clock.now();
    const rec: RunRecord = {
      id,
      experiment,
      name: input.name ?? null,
      status: 'RUNNING',
      params,
      tags,
      datasets: [],
      created_by: actor.name,
      created_at: now,
      updated_at: now,
    };
    await this.deps.store.transaction(async (tx) => {
      if (await tx.runs.find(id)) throw invalid(`run ${id} already exists`, { field: 'run_id' });
      await tx.runs.insert(rec);
      await recordChange(tx, actor, now, { action: 'run.create', subject: { type: 'run', id }, after: { experiment, name: rec.name, params, tags } });
    });
    return { run: rec, metrics: {} };
  }

  /** MLflow's create_run: in an active experiment (Default when none is named), RUNNING. */
  async start(actor: Actor, input: { experiment_id?: string; run_name?: string; start_time?: number; tags?: Record<string, string> }): Promise<RunWithMetrics> {
    requireRole(actor, 'editor', 'creating a run');
    const experiment = await this.experiments.get(input.experiment_id ?? DEFAULT_EXPERIMENT.id);
    if (experiment.lifecycle_stage !== 'active') {
      throw invalid(`The experiment ${experiment.id} must be in the 'active' state to create runs in it. Current state is ${experiment.lifecycle_stage}.`, {
        experiment_id: experiment.id,
      });
    }
    const now = this.deps.clock.now();
    const id = randomBytes(16).toString('hex');
    const tags = { ...(input.tags ?? {}) };
    const name = input.run_name ?? tags['mlflow.runName'] ?? `run-${id.slice(0, 8)}`;
    tags['mlflow.runName'] = name;
    const run: RunRecord = {
      id,
      experiment: experiment.name,
      name,
      status: 'RUNNING',
      params: {},
      tags,
      datasets: [],
      created_by: actor.name,
      created_at: now,
      updated_at: now,
      experiment_id: experiment.id,
      start_time: input.start_time ?? now,
      end_time: null,
      lifecycle_stage: 'active',
      outputs: [],
    };
    await this.deps.store.transaction(async (tx) => {
      await tx.runs.insert(run);
      await recordChange(tx, actor, now, { action: 'run.create', subject: { type: 'run', id }, after: { experiment_id: experiment.id, name } });
    });
    return { run, metrics: [], experiment };
  }

  /**
   * Inside a transaction: a run named only by id (a training job outside Berth) that a version
   * is registered with; recorded when new, so lineage has a node.
   */
  async ensureIn(tx: StoreTx, actor: Actor, now: number, id: string, registeredWith: string): Promise<void> {
    if (await tx.runs.find(id)) return;
    await tx.runs.insert({
      id,
      experiment: 'Default',
      name: null,
      status: 'FINISHED',
      params: {},
      tags: {},
      datasets: [],
      created_by: actor.name,
      created_at: now,
      updated_at: now,
    });
    await recordChange(tx, actor, now, {
      action: 'run.create',
      subject: { type: 'run', id },
      after: { experiment: 'Default', registered_with: registeredWith },
    });
  }

  async get(id: string): Promise<RunWithLatestMetrics> {
    const tx = this.deps.store.read;
    const run = await tx.runs.find(id);
    if (!run) throw missing(id);
    return { run, metrics: await tx.runs.latestMetrics(id) };
  }

  /** The run with its latest metrics and its experiment, its stage as MLflow shows it. */
  async getWithMetrics(id: string): Promise<RunWithMetrics> {
    const tx = this.deps.store.read;
    const run = await tx.runs.find(id);
    if (!run) throw missing(id);
    const [metrics, experiment] = await Promise.all([tx.runs.latestMetricPoints(id), this.experiments.get(run.experiment_id ?? DEFAULT_EXPERIMENT.id)]);
    return { run: withStage(run, experiment), metrics, experiment };
  }

  /** The run alone (no metrics): where its artifacts are. */
  async getRecord(id: string): Promise<RunRecord> {
    const run = await this.deps.store.read.runs.find(id);
    if (!run) throw missing(id);
    return run;
  }

  /** The native API's log: params, metrics, tags, datasets or status; returns the run after. */
  async log(actor: Actor, id: string, input: LogRunBody): Promise<RunWithLatestMetrics> {
    requireRole(actor, 'editor', 'logging to a run');
    const params = input.params ? checkStringMap(input.params, 'params') : undefined;
    const tags = input.tags ? validateTags(input.tags) : undefined;
    const now = this.deps.clock.now();
    const metrics = (input.metrics ?? []).map((m) => ({ key: m?.key, value: m?.value, step: m?.step ?? 0, timestamp: m?.timestamp ?? now }));
    const datasets = input.datasets?.map((d) => ({ name: d?.name, digest: d?.digest, source: d?.source ?? null }));
    await this.apply(actor, id, { params, tags, metrics, datasets, status: input.status }, now, { params, tags, datasets, status: input.status });
    return this.get(id);
  }

  /** MLflow's log calls (log-batch, update, log-inputs, outputs, …): each adds one part of a RunLog. */
  async record(actor: Actor, id: string, log: RunLog): Promise<void> {
    requireRole(actor, 'editor', 'logging to a run');
    const datasets = log.datasets?.map((d) => ({ name: d.name, digest: d.digest, source: d.source }));
    await this.apply(actor, id, log, this.deps.clock.now(), { params: log.params, tags: log.tags, status: log.status, outputs: log.outputs, datasets });
  }

  /**
   * Params are immutable once logged (MLflow's rule); tags and metrics are not. `audited` is
   * what the audit event records of the change, as each front has always recorded it.
   */
  private async apply(actor: Actor, runId: string, log: RunLog, now: number, audited: unknown): Promise<void> {
    checkLog(log);
    await this.deps.store.transaction(async (tx) => {
      const r = await tx.runs.lock(runId);
      if (!r) throw missing(runId);
      const stage = effectiveStage(r, await tx.experiments.findById(r.experiment_id ?? DEFAULT_EXPERIMENT.id));
      if (stage !== 'active') throw invalid(`The run ${runId} must be in the 'active' state. Current state is ${stage}.`, { run_id: runId });
      for (const [k, v] of Object.entries(log.params ?? {})) {
        if (k in r.params && r.params[k] !== v) {
          throw invalid(
            `Changing param values is not allowed. Param with key='${k}' was already logged with value='${r.params[k]}' for run ID='${runId}'. Attempted logging new value '${v}'.`,
            { field: 'params' },
          );
        }
      }
      const tags = log.tags || log.run_name ? { ...r.tags, ...(log.tags ?? {}), ...(log.run_name ? { 'mlflow.runName': log.run_name } : {}) } : undefined;
      await tx.runs.update(
        runId,
        {
          ...(log.params ? { params: { ...r.params, ...log.params } } : {}),
          ...(tags ? { tags } : {}),
          ...(log.run_name ? { name: log.run_name } : {}),
          ...(log.status ? { status: log.status } : {}),
          ...(log.end_time !== undefined ? { end_time: log.end_time } : {}),
          ...(log.outputs ? { outputs: [...(r.outputs ?? []), ...log.outputs] } : {}),
          // The same dataset (name and digest) logged again is recorded once, as MLflow does.
          ...(log.datasets?.length
            ? { datasets: [...r.datasets, ...log.datasets.filter((d) => !r.datasets.some((x) => x.name === d.name && x.digest === d.digest))] }
            : {}),
        },
        now,
      );
      if (log.metrics?.length) await tx.runs.logMetrics(runId, log.metrics);
      if (log.params || log.tags || log.status || log.outputs || log.datasets) {
        await recordChange(tx, actor, now, { action: 'run.update', subject: { type: 'run', id: runId }, after: audited });
      }
    });
  }

  /**
   * MLflow's search_runs over some experiments: the filter and order run in SQL, pages by
   * offset. Unknown experiment ids contribute no runs, as in MLflow.
   */
  async search(q: {
    experimentIds: string[];
    filter: RunFilterClause[];
    order: RunOrderKey[];
    viewType: ViewType;
    max: number;
    pageToken?: string;
  }): Promise<TrackingPage<RunWithMetrics>> {
    checkPage(q.max);
    const offset = decodeOffsetToken(q.pageToken);
    const experiments = new Map<string, ExperimentRecord>();
    for (const id of new Set(q.experimentIds)) {
      const e = await this.experiments.find(id);
      if (e) experiments.set(id, e);
    }
    const all = [...experiments.values()];
    const active = all.filter((e) => e.lifecycle_stage !== 'deleted').map((e) => e.id);
    const deleted = all.filter((e) => e.lifecycle_stage === 'deleted').map((e) => e.id);
    const scopes: RunScope[] =
      q.viewType === 'ALL'
        ? [{ experimentIds: all.map((e) => e.id) }]
        : q.viewType === 'DELETED_ONLY'
          ? [{ experimentIds: deleted }, { experimentIds: active, runStage: 'deleted' }]
          : [{ experimentIds: active, runStage: 'active' }];
    const tx = this.deps.store.read;
    const rows = await tx.runs.search({ scopes, clauses: q.filter, order: q.order, offset, limit: q.max + 1 });
    const page = rows.slice(0, q.max);
    const metrics = await tx.runs.latestMetricPointsOf(page.map((r) => r.id));
    const items = page.map((run) => {
      const experiment = experiments.get(run.experiment_id ?? DEFAULT_EXPERIMENT.id) as ExperimentRecord;
      return { run: withStage(run, experiment), metrics: metrics.get(run.id) ?? [], experiment };
    });
    return { items, next_page_token: rows.length > q.max ? encodeOffsetToken(offset + q.max) : null };
  }

  /**
   * Soft delete, as MLflow's: the run stays readable by id with lifecycle_stage `deleted` and
   * leaves searches unless they ask for deleted runs. Its artifacts stay, so versions
   * registered from it (which pin its files by digest) are unchanged.
   */
  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'deleting a run');
    await this.setStage(actor, id, 'deleted', 'run.delete');
  }

  async restore(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'restoring a run');
    await this.setStage(actor, id, 'active', 'run.restore');
  }

  /** Deleting a deleted run or restoring an active one succeeds and changes nothing, as in MLflow. */
  private async setStage(actor: Actor, id: string, to: 'active' | 'deleted', action: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      const r = await tx.runs.lock(id);
      if (!r) throw missing(id);
      if (to === 'active') {
        const e = await tx.experiments.findById(r.experiment_id ?? DEFAULT_EXPERIMENT.id);
        if (e?.lifecycle_stage === 'deleted')
          throw invalid(`Cannot restore run ${id}: its experiment ${e.id} is deleted; restore the experiment first.`, { run_id: id });
      }
      const from = r.lifecycle_stage ?? 'active';
      if (from === to) return;
      await tx.runs.update(id, { lifecycle_stage: to }, now);
      await recordChange(tx, actor, now, { action, subject: { type: 'run', id }, before: { lifecycle_stage: from }, after: { lifecycle_stage: to } });
    });
  }

  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    await this.getWithMetrics(runId);
    return this.deps.store.read.runs.metricHistory(runId, key);
  }
}
