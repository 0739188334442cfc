import { randomBytes } from 'node:crypto';
import { invalid, notFound } from '@berth/core';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import type { ExperimentService } from './experiments-service.js';
import type { RunService } from './runs-service.js';
import type { LoggedModelRecord } from './tracking.js';

const MODEL_STATUSES = ['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'];

/** MLflow 3's logged models: a model's files logged in an experiment, before any registration. */
export class LoggedModelService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly experiments: ExperimentService,
    private readonly runs: RunService,
  ) {}

  async create(
    actor: Actor,
    input: {
      experiment_id: string;
      name?: string;
      source_run_id?: string;
      params?: Record<string, string>;
      tags?: Record<string, string>;
      model_type?: string;
    },
  ): Promise<LoggedModelRecord> {
    requireRole(actor, 'editor', 'logging a model');
    const experiment = await this.experiments.get(input.experiment_id);
    if (input.source_run_id) await this.runs.getWithMetrics(input.source_run_id);
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
      await recordChange(tx, actor, now, {
        action: 'logged_model.create',
        subject: { type: 'logged_model', id: m.id },
        after: { name: m.name, source_run_id: m.source_run_id },
      });
    });
    return m;
  }

  async get(id: string): Promise<LoggedModelRecord> {
    const m = await this.deps.store.read.loggedModels.find(id);
    if (!m) throw notFound(`Logged model with ID '${id}' not found.`, { model_id: id });
    return m;
  }

  async update(actor: Actor, id: string, patch: { status?: string; tags?: Record<string, string> }): Promise<LoggedModelRecord> {
    requireRole(actor, 'editor', 'updating a logged model');
    if (patch.status !== undefined && !MODEL_STATUSES.includes(patch.status)) throw invalid(`Invalid logged model status ${patch.status}`, { field: 'status' });
    const now = this.deps.clock.now();
    await this.deps.store.transaction(async (tx) => {
      const m = await tx.loggedModels.find(id);
      if (!m) throw notFound(`Logged model with ID '${id}' not found.`, { model_id: id });
      await tx.loggedModels.update(id, { status: patch.status, tags: patch.tags ? { ...m.tags, ...patch.tags } : undefined }, now);
      await recordChange(tx, actor, now, { action: 'logged_model.update', subject: { type: 'logged_model', id }, after: patch });
    });
    return this.get(id);
  }

  async search(experimentIds: string[], name: string | undefined, limit: number): Promise<LoggedModelRecord[]> {
    return this.deps.store.read.loggedModels.search(experimentIds, name, limit);
  }
}
