import { BerthError, decodeOffsetToken, encodeOffsetToken, invalid, notFound, type ExperimentFilterClause, type ExperimentOrderKey } from '@berth/core';
import type { StoreTx } from '../store/store.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import { checkPage, DEFAULT_EXPERIMENT, type ExperimentRecord, type TrackingPage, type ViewType } from './tracking.js';

const EXPERIMENT_NAME_MAX = 500;

function checkExperimentName(name: string): void {
  if (!name || name.length > EXPERIMENT_NAME_MAX) throw invalid(`experiment name must be 1-${EXPERIMENT_NAME_MAX} characters`, { field: 'name' });
}

/** MLflow's experiments: named folders of runs, soft-deleted and restored as a whole. */
export class ExperimentService {
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
      await tx.experiments.insert({
        ...DEFAULT_EXPERIMENT,
        artifact_location: DEFAULT_EXPERIMENT.id,
        lifecycle_stage: 'active',
        tags: {},
        created_at: now,
        updated_at: now,
      });
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'ALREADY_EXISTS')) throw err;
    }
  }

  /** The Default experiment is created on first use, whichever way it is first asked for. */
  private async defaultReady(): Promise<void> {
    if (!this.defaultExists) await this.deps.store.transaction((tx) => this.ensureDefault(tx));
  }

  async find(id: string): Promise<ExperimentRecord | undefined> {
    if (id === DEFAULT_EXPERIMENT.id) await this.defaultReady();
    return this.deps.store.read.experiments.findById(id);
  }

  async get(id: string): Promise<ExperimentRecord> {
    const e = await this.find(id);
    if (!e) throw notFound(`No Experiment with id=${id} exists`, { experiment_id: id });
    return e;
  }

  async getByName(name: string): Promise<ExperimentRecord> {
    if (name === DEFAULT_EXPERIMENT.name) await this.defaultReady();
    const e = await this.deps.store.read.experiments.findByName(name);
    if (!e) throw notFound(`Could not find experiment with name '${name}'`, { experiment: name });
    return e;
  }

  async create(actor: Actor, name: string, tags: Record<string, string> = {}): Promise<ExperimentRecord> {
    requireRole(actor, 'editor', 'creating an experiment');
    checkExperimentName(name);
    return this.deps.store.transaction(async (tx) => {
      await this.ensureDefault(tx);
      if (await tx.experiments.findByName(name)) throw new BerthError('ALREADY_EXISTS', `Experiment '${name}' already exists.`, { experiment: name });
      const id = await tx.experiments.nextId();
      const now = this.deps.clock.now();
      const e: ExperimentRecord = { id, name, artifact_location: id, lifecycle_stage: 'active', tags, created_at: now, updated_at: now };
      await tx.experiments.insert(e);
      await recordChange(tx, actor, now, { action: 'experiment.create', subject: { type: 'experiment', id }, after: { name } });
      return e;
    });
  }

  /** MLflow's search_experiments: view type, filter, order, offset pages. */
  async search(q: {
    viewType: ViewType;
    filter: ExperimentFilterClause[];
    order: ExperimentOrderKey[];
    max: number;
    pageToken?: string;
  }): Promise<TrackingPage<ExperimentRecord>> {
    checkPage(q.max);
    const offset = decodeOffsetToken(q.pageToken);
    await this.defaultReady();
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
  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'deleting an experiment');
    if (id === DEFAULT_EXPERIMENT.id)
      throw invalid(`Cannot delete the default experiment '${DEFAULT_EXPERIMENT.id}': runs started without an experiment are recorded there.`, {
        experiment_id: id,
      });
    await this.setStage(actor, id, 'active', 'deleted', 'experiment.delete');
  }

  async restore(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'editor', 'restoring an experiment');
    await this.setStage(actor, id, 'deleted', 'active', 'experiment.restore');
  }

  /** MLflow looks the experiment up in the stage it must be in: anything else is not found. */
  private async setStage(actor: Actor, id: string, from: string, to: string, action: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      if (!(await tx.experiments.update(id, { lifecycle_stage: to }, now, from))) {
        throw notFound(`No ${from === 'deleted' ? 'deleted ' : 'active '}Experiment with id=${id} exists`, { experiment_id: id });
      }
      await recordChange(tx, actor, now, { action, subject: { type: 'experiment', id }, before: { lifecycle_stage: from }, after: { lifecycle_stage: to } });
    });
  }

  /** Rename: the name must be free; a deleted experiment cannot be renamed (restore it first). */
  async rename(actor: Actor, id: string, newName: string): Promise<ExperimentRecord> {
    requireRole(actor, 'editor', 'renaming an experiment');
    checkExperimentName(newName);
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      const e = await tx.experiments.findById(id);
      if (!e) throw notFound(`No Experiment with id=${id} exists`, { experiment_id: id });
      if (e.lifecycle_stage !== 'active')
        throw invalid(`Cannot rename a non-active experiment: experiment ${id} is ${e.lifecycle_stage}; restore it first.`, { experiment_id: id });
      if (e.name === newName) return;
      const holder = await tx.experiments.findByName(newName);
      if (holder) throw new BerthError('ALREADY_EXISTS', `Experiment '${newName}' already exists.`, { experiment: newName });
      await tx.experiments.update(id, { name: newName }, now);
      await recordChange(tx, actor, now, {
        action: 'experiment.rename',
        subject: { type: 'experiment', id },
        before: { name: e.name },
        after: { name: newName },
      });
    });
    return this.get(id);
  }
}
