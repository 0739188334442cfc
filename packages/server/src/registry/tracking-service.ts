import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  BerthError,
  decodeOffsetToken,
  encodeOffsetToken,
  invalid,
  notFound,
  validateFilePath,
  type ExperimentFilterClause,
  type ExperimentOrderKey,
  type ManifestFile,
  type RunFilterClause,
  type RunOrderKey,
} from '@berth/core';
import type { ExperimentRecord, LoggedModelRecord, ArtifactRecord } from '../store/tracking.js';
import type { MetricPoint, RunDataset, RunRecord, RunScope } from '../store/runs.js';
import type { StoreTx } from '../store/store.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';

/**
 * Experiments, runs, metrics, logged models and their artifacts: what MLflow's `runs:/` and
 * `log_model` workflows need (issue 3). Artifact files live in the blob store; an index maps
 * each artifact path to its blob, so a registered version snapshots a run's files by digest.
 *
 * Artifact paths are relative to the artifact root: an experiment's files under `<exp>/`, a
 * run's under `<exp>/<run_id>/artifacts/`, a logged model's under `<exp>/models/<id>/artifacts/`.
 */
export type { ExperimentRecord, LoggedModelRecord, ArtifactRecord };

export const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' };

export interface RunWithMetrics {
  run: RunRecord;
  metrics: MetricPoint[];
  experiment: ExperimentRecord;
}

/** MLflow's ViewType: which lifecycle stages a search returns. */
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface TrackingPage<T> {
  items: T[];
  next_page_token: string | null;
}

/** MLflow's search limits: max_results defaults to 1000 and may not exceed 50,000. */
export const SEARCH_MAX_RESULTS = 50_000;

const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
const EXPERIMENT_NAME_MAX = 500;

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

function checkPage(max: number): void {
  if (!Number.isInteger(max) || max < 1 || max > SEARCH_MAX_RESULTS) {
    throw invalid(`Invalid value ${max} for parameter 'max_results' supplied: it must be a whole number from 1 to ${SEARCH_MAX_RESULTS}.`, { field: 'max_results' });
  }
}
const MODEL_STATUSES = ['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'];

export function runArtifactRoot(run: { id: string; experiment_id?: string | null }): string {
  return `${run.experiment_id ?? DEFAULT_EXPERIMENT.id}/${run.id}/artifacts`;
}

export function loggedModelArtifactRoot(m: { id: string; experiment_id: string }): string {
  return `${m.experiment_id}/models/${m.id}/artifacts`;
}

function checkExperimentName(name: string): void {
  if (!name || name.length > EXPERIMENT_NAME_MAX) throw invalid(`experiment name must be 1-${EXPERIMENT_NAME_MAX} characters`, { field: 'name' });
}

export class TrackingService {
  constructor(private readonly deps: RegistryDeps) {}

  /** Set once the Default experiment is known to exist (it can be renamed but never deleted). */
  private defaultExists = false;

  private async ensureDefault(tx: StoreTx): Promise<void> {
    if (this.defaultExists) return;
    if (await tx.experiments.findById(DEFAULT_EXPERIMENT.id)) {
      this.defaultExists = true;
      return;
    }
    const now = this.deps.clock.now();
    try {
      await tx.experiments.insert({ ...DEFAULT_EXPERIMENT, artifact_location: DEFAULT_EXPERIMENT.id, lifecycle_stage: 'active', tags: {}, created_at: now, updated_at: now });
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'ALREADY_EXISTS')) throw err;
    }
  }

  async getExperiment(id: string): Promise<ExperimentRecord> {
    if (id === DEFAULT_EXPERIMENT.id && !this.defaultExists) await this.deps.store.transaction((tx) => this.ensureDefault(tx));
    const e = await this.deps.store.read.experiments.findById(id);
    if (!e) throw notFound(`No Experiment with id=${id} exists`, { experiment_id: id });
    return e;
  }

  async getExperimentByName(name: string): Promise<ExperimentRecord> {
    if (name === DEFAULT_EXPERIMENT.name && !this.defaultExists) await this.deps.store.transaction((tx) => this.ensureDefault(tx));
    const e = await this.deps.store.read.experiments.findByName(name);
    if (!e) throw notFound(`Could not find experiment with name '${name}'`, { experiment: name });
    return e;
  }

  async createExperiment(actor: Actor, name: string, tags: Record<string, string> = {}): Promise<ExperimentRecord> {
    requireRole(actor, 'editor', 'creating an experiment');
    checkExperimentName(name);
    return this.deps.store.transaction(async (tx) => {
      await this.ensureDefault(tx);
      if (await tx.experiments.findByName(name)) throw new BerthError('ALREADY_EXISTS', `Experiment '${name}' already exists.`, { experiment: name });
      const id = await tx.experiments.nextId();
      const now = this.deps.clock.now();
      const e: ExperimentRecord = { id, name, artifact_location: id, lifecycle_stage: 'active', tags, created_at: now, updated_at: now };
      await tx.experiments.insert(e);
      await tx.audit.append({ at: now, actor: actor.name, action: 'experiment.create', model_id: null, model: null, subject_type: 'run', subject: `experiment:${id}`, before: null, after: { name }, reason: null });
      return e;
    });
  }

  /** MLflow's search_experiments: view type, filter, order, offset pages. */
  async searchExperiments(q: { viewType: ViewType; filter: ExperimentFilterClause[]; order: ExperimentOrderKey[]; max: number; pageToken?: string }): Promise<TrackingPage<ExperimentRecord>> {
    checkPage(q.max);
    const offset = decodeOffsetToken(q.pageToken);
    if (!this.defaultExists) await this.deps.store.transaction((tx) => this.ensureDefault(tx));
    const stages = q.viewType === 'ALL' ? (['active', 'deleted'] as const) : q.viewType === 'DELETED_ONLY' ? (['deleted'] as const) : (['active'] as const);
    const rows = await this.deps.store.read.experiments.search({ stages, clauses: q.filter, order: q.order, offset, limit: q.max + 1 });
    return { items: rows.slice(0, q.max), next_page_token: rows.length > q.max ? encodeOffsetToken(offset + q.max) : null };
  }

  /**
   * Soft delete, as MLflow's: the experiment and its runs read as `deleted` and stay readable
   * by id; its artifacts and every version registered from them are untouched. The Default
   * experiment cannot be deleted (MLflow's file store refuses too): runs started without an
   * experiment go there.
   */
  async deleteExperiment(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'deleting an experiment');
    if (id === DEFAULT_EXPERIMENT.id) throw invalid(`Cannot delete the default experiment '${DEFAULT_EXPERIMENT.id}': runs started without an experiment are recorded there.`, { experiment_id: id });
    await this.setExperimentStage(actor, id, 'active', 'deleted', 'experiment.delete');
  }

  async restoreExperiment(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'restoring an experiment');
    await this.setExperimentStage(actor, id, 'deleted', 'active', 'experiment.restore');
  }

  /** MLflow looks the experiment up in the stage it must be in: anything else is not found. */
  private async setExperimentStage(actor: Actor, id: string, from: string, to: string, action: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      if (!(await tx.experiments.update(id, { lifecycle_stage: to }, now, from))) {
        throw notFound(`No ${from === 'deleted' ? 'deleted ' : 'active '}Experiment with id=${id} exists`, { experiment_id: id });
      }
      await tx.audit.append({ at: now, actor: actor.name, action, model_id: null, model: null, subject_type: 'run', subject: `experiment:${id}`, before: { lifecycle_stage: from }, after: { lifecycle_stage: to }, reason: null });
    });
  }

  /** Rename: the name must be free; a deleted experiment cannot be renamed (restore it first). */
  async renameExperiment(actor: Actor, id: string, newName: string): Promise<ExperimentRecord> {
    requireRole(actor, 'editor', 'renaming an experiment');
    checkExperimentName(newName);
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      const e = await tx.experiments.findById(id);
      if (!e) throw notFound(`No Experiment with id=${id} exists`, { experiment_id: id });
      if (e.lifecycle_stage !== 'active') throw invalid(`Cannot rename a non-active experiment: experiment ${id} is ${e.lifecycle_stage}; restore it first.`, { experiment_id: id });
      if (e.name === newName) return;
      const holder = await tx.experiments.findByName(newName);
      if (holder) throw new BerthError('ALREADY_EXISTS', `Experiment '${newName}' already exists.`, { experiment: newName });
      await tx.experiments.update(id, { name: newName }, now);
      await tx.audit.append({ at: now, actor: actor.name, action: 'experiment.rename', model_id: null, model: null, subject_type: 'run', subject: `experiment:${id}`, before: { name: e.name }, after: { name: newName }, reason: null });
    });
    return this.getExperiment(id);
  }

  /**
   * MLflow's search_runs over some experiments: the filter and order run in SQL, pages by
   * offset. Unknown experiment ids contribute no runs, as in MLflow.
   */
  async searchRuns(q: { experimentIds: string[]; filter: RunFilterClause[]; order: RunOrderKey[]; viewType: ViewType; max: number; pageToken?: string }): Promise<TrackingPage<RunWithMetrics>> {
    checkPage(q.max);
    const offset = decodeOffsetToken(q.pageToken);
    const experiments = new Map<string, ExperimentRecord>();
    for (const id of new Set(q.experimentIds)) {
      if (id === DEFAULT_EXPERIMENT.id && !this.defaultExists) await this.deps.store.transaction((tx) => this.ensureDefault(tx));
      const e = await this.deps.store.read.experiments.findById(id);
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
  async deleteRun(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'deleting a run');
    await this.setRunStage(actor, id, 'deleted', 'run.delete');
  }

  async restoreRun(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'restoring a run');
    await this.setRunStage(actor, id, 'active', 'run.restore');
  }

  /** Deleting a deleted run or restoring an active one succeeds and changes nothing, as in MLflow. */
  private async setRunStage(actor: Actor, id: string, to: 'active' | 'deleted', action: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      const r = await tx.runs.lock(id);
      if (!r) throw notFound(`Run with id=${id} not found`, { run_id: id });
      if (to === 'active') {
        const e = await tx.experiments.findById(r.experiment_id ?? DEFAULT_EXPERIMENT.id);
        if (e?.lifecycle_stage === 'deleted') throw invalid(`Cannot restore run ${id}: its experiment ${e.id} is deleted; restore the experiment first.`, { run_id: id });
      }
      const from = r.lifecycle_stage ?? 'active';
      if (from === to) return;
      await tx.runs.update(id, { lifecycle_stage: to }, now);
      await tx.audit.append({ at: now, actor: actor.name, action, model_id: null, model: null, subject_type: 'run', subject: id, before: { lifecycle_stage: from }, after: { lifecycle_stage: to }, reason: null });
    });
  }

  async createRun(actor: Actor, input: { experiment_id?: string; run_name?: string; start_time?: number; tags?: Record<string, string> }): Promise<RunWithMetrics> {
    requireRole(actor, 'editor', 'creating a run');
    const experiment = await this.getExperiment(input.experiment_id ?? DEFAULT_EXPERIMENT.id);
    if (experiment.lifecycle_stage !== 'active') {
      throw invalid(`The experiment ${experiment.id} must be in the 'active' state to create runs in it. Current state is ${experiment.lifecycle_stage}.`, { experiment_id: experiment.id });
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
      await tx.audit.append({ at: now, actor: actor.name, action: 'run.create', model_id: null, model: null, subject_type: 'run', subject: id, before: null, after: { experiment_id: experiment.id, name }, reason: null });
    });
    return { run, metrics: [], experiment };
  }

  async getRun(id: string): Promise<RunWithMetrics> {
    const tx = this.deps.store.read;
    const run = await tx.runs.find(id);
    if (!run) throw notFound(`Run with id=${id} not found`, { run_id: id });
    const [metrics, experiment] = await Promise.all([tx.runs.latestMetricPoints(id), this.getExperiment(run.experiment_id ?? DEFAULT_EXPERIMENT.id)]);
    return { run: withStage(run, experiment), metrics, experiment };
  }

  /** Params are immutable once logged (MLflow's rule); tags and metrics are not. */
  async log(
    actor: Actor,
    runId: string,
    input: { params?: Record<string, string>; tags?: Record<string, string>; metrics?: MetricPoint[]; status?: string; end_time?: number; run_name?: string; outputs?: { model_id: string; step: number }[]; datasets?: RunDataset[] },
  ): Promise<void> {
    requireRole(actor, 'editor', 'logging to a run');
    if (input.status !== undefined && !RUN_STATUSES.includes(input.status)) throw invalid(`Invalid run status ${input.status}: use one of ${RUN_STATUSES.join(', ')}`, { field: 'status' });
    for (const m of input.metrics ?? []) {
      if (!m.key || typeof m.value !== 'number') throw invalid('each metric needs a key and a numeric value', { field: 'metrics' });
    }
    for (const d of input.datasets ?? []) {
      if (!d.name || !d.digest) throw invalid('each dataset needs a name and a digest', { field: 'datasets' });
    }
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      const r = await tx.runs.lock(runId);
      if (!r) throw notFound(`Run with id=${runId} not found`, { run_id: runId });
      const stage = effectiveStage(r, await tx.experiments.findById(r.experiment_id ?? DEFAULT_EXPERIMENT.id));
      if (stage !== 'active') throw invalid(`The run ${runId} must be in the 'active' state. Current state is ${stage}.`, { run_id: runId });
      for (const [k, v] of Object.entries(input.params ?? {})) {
        if (k in r.params && r.params[k] !== v) {
          throw invalid(`Changing param values is not allowed. Param with key='${k}' was already logged with value='${r.params[k]}' for run ID='${runId}'. Attempted logging new value '${v}'.`, { field: 'params' });
        }
      }
      const tags = input.tags || input.run_name ? { ...r.tags, ...(input.tags ?? {}), ...(input.run_name ? { 'mlflow.runName': input.run_name } : {}) } : undefined;
      await tx.runs.update(
        runId,
        {
          ...(input.params ? { params: { ...r.params, ...input.params } } : {}),
          ...(tags ? { tags } : {}),
          ...(input.run_name ? { name: input.run_name } : {}),
          ...(input.status ? { status: input.status } : {}),
          ...(input.end_time !== undefined ? { end_time: input.end_time } : {}),
          ...(input.outputs ? { outputs: [...(r.outputs ?? []), ...input.outputs] } : {}),
          // The same dataset (name and digest) logged again is recorded once, as MLflow does.
          ...(input.datasets?.length ? { datasets: [...r.datasets, ...input.datasets.filter((d) => !r.datasets.some((x) => x.name === d.name && x.digest === d.digest))] } : {}),
        },
        now,
      );
      if (input.metrics?.length) await tx.runs.logMetrics(runId, input.metrics);
      if (input.params || input.tags || input.status || input.outputs || input.datasets) {
        const datasets = input.datasets?.map((d) => ({ name: d.name, digest: d.digest, source: d.source }));
        await tx.audit.append({ at: now, actor: actor.name, action: 'run.update', model_id: null, model: null, subject_type: 'run', subject: runId, before: null, after: { params: input.params, tags: input.tags, status: input.status, outputs: input.outputs, datasets }, reason: null });
      }
    });
  }

  /** The run alone (no metrics): where its artifacts are. */
  async findRun(id: string): Promise<RunRecord> {
    const run = await this.deps.store.read.runs.find(id);
    if (!run) throw notFound(`Run with id=${id} not found`, { run_id: id });
    return run;
  }

  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    await this.getRun(runId);
    return this.deps.store.read.runs.metricHistory(runId, key);
  }

  async createLoggedModel(actor: Actor, input: { experiment_id: string; name?: string; source_run_id?: string; params?: Record<string, string>; tags?: Record<string, string>; model_type?: string }): Promise<LoggedModelRecord> {
    requireRole(actor, 'editor', 'logging a model');
    const experiment = await this.getExperiment(input.experiment_id);
    if (input.source_run_id) await this.getRun(input.source_run_id);
    const now = this.deps.clock.now();
    const m: LoggedModelRecord = {
      id: `m-${randomBytes(16).toString('hex')}`,
      experiment_id: experiment.id,
      name: input.name || 'model',
      source_run_id: input.source_run_id ?? null,
      status: 'LOGGED_MODEL_PENDING',
      model_type: input.model_type ?? null,
      params: input.params ?? {},
      tags: input.tags ?? {},
      created_at: now,
      updated_at: now,
    };
    await this.deps.store.transaction(async (tx) => {
      await tx.loggedModels.insert(m);
      await tx.audit.append({ at: now, actor: actor.name, action: 'logged_model.create', model_id: null, model: null, subject_type: 'run', subject: m.id, before: null, after: { name: m.name, source_run_id: m.source_run_id }, reason: null });
    });
    return m;
  }

  async getLoggedModel(id: string): Promise<LoggedModelRecord> {
    const m = await this.deps.store.read.loggedModels.find(id);
    if (!m) throw notFound(`Logged model with ID '${id}' not found.`, { model_id: id });
    return m;
  }

  async updateLoggedModel(actor: Actor, id: string, patch: { status?: string; tags?: Record<string, string> }): Promise<LoggedModelRecord> {
    requireRole(actor, 'editor', 'updating a logged model');
    if (patch.status !== undefined && !MODEL_STATUSES.includes(patch.status)) throw invalid(`Invalid logged model status ${patch.status}`, { field: 'status' });
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      const m = await tx.loggedModels.find(id);
      if (!m) throw notFound(`Logged model with ID '${id}' not found.`, { model_id: id });
      await tx.loggedModels.update(id, { status: patch.status, tags: patch.tags ? { ...m.tags, ...patch.tags } : undefined }, now);
      await tx.audit.append({ at: now, actor: actor.name, action: 'logged_model.update', model_id: null, model: null, subject_type: 'run', subject: id, before: null, after: patch, reason: null });
    });
    return this.getLoggedModel(id);
  }

  async searchLoggedModels(experimentIds: string[], name: string | undefined, limit: number): Promise<LoggedModelRecord[]> {
    return this.deps.store.read.loggedModels.search(experimentIds, name, limit);
  }

  /** Streams an artifact into the blob store, then points its path at the blob. */
  async putArtifact(actor: Actor, path: string, body: Readable, size?: number): Promise<ArtifactRecord> {
    requireRole(actor, 'editor', 'writing artifacts');
    validateFilePath(path);
    const { sha256, size: written } = await this.deps.blobs.putUnknown(body, { expectedSize: size, maxBytes: this.deps.config.maxBlobBytes });
    const rec: ArtifactRecord = { path, sha256, size: written, updated_at: this.deps.clock.now() };
    await this.deps.store.transaction((tx) => tx.artifacts.set(rec));
    return rec;
  }

  async getArtifact(path: string): Promise<ArtifactRecord> {
    validateFilePath(path);
    const a = await this.deps.store.read.artifacts.find(path);
    if (!a) throw notFound(`artifact ${JSON.stringify(path)} not found`, { path });
    return a;
  }

  /** One level of a folder: files with sizes and sub-folders, by base name. */
  async listArtifacts(dir: string): Promise<{ path: string; is_dir: boolean; file_size?: number }[]> {
    if (dir !== '') validateFilePath(dir);
    const all = await this.deps.store.read.artifacts.under(dir);
    const prefix = dir === '' ? '' : `${dir}/`;
    const dirs = new Set<string>();
    const out: { path: string; is_dir: boolean; file_size?: number }[] = [];
    for (const a of all) {
      const rest = a.path.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) out.push({ path: rest, is_dir: false, file_size: a.size });
      else dirs.add(rest.slice(0, slash));
    }
    return [...[...dirs].sort().map((d) => ({ path: d, is_dir: true })), ...out];
  }

  async deleteArtifact(actor: Actor, path: string): Promise<void> {
    requireRole(actor, 'editor', 'deleting artifacts');
    validateFilePath(path);
    await this.deps.store.transaction(async (tx) => {
      for (const a of [await tx.artifacts.find(path), ...(await tx.artifacts.under(path))]) if (a) await tx.artifacts.delete(a.path);
    });
  }

  /**
   * Where a version's files are, from an MLflow-style source: `models:/<logged model id>`
   * (MLflow 3), `runs:/<run id>/<path>`, or `mlflow-artifacts:/<path>` — all inside Berth's
   * artifact store. Anything else is refused: Berth pins only files it holds.
   */
  async artifactDirOf(source: string): Promise<string> {
    let m = /^models:\/(m-[0-9a-f]{32})\/?$/.exec(source);
    if (m) return loggedModelArtifactRoot(await this.getLoggedModel(m[1]));
    m = /^runs:\/([A-Za-z0-9_-]+)\/(.*)$/.exec(source);
    if (m) return `${runArtifactRoot(await this.findRun(m[1]))}/${m[2]}`.replace(/\/+$/, '');
    m = /^mlflow-artifacts:(?:\/\/[^/]+)?\/+(.+?)\/*$/.exec(source);
    if (m) return m[1];
    throw invalid(`Unsupported source ${JSON.stringify(source)}: give models:/<model_id>, runs:/<run_id>/<path> or mlflow-artifacts:/<path> stored in this server`, { field: 'source' });
  }

  /** The files below `dir` as a manifest relative to it: what a registered version pins. */
  async snapshot(dir: string): Promise<ManifestFile[]> {
    const all = await this.deps.store.read.artifacts.under(dir);
    return all.map((a) => ({ path: a.path.slice(dir.length + 1), size: a.size, sha256: a.sha256 }));
  }
}
