import { randomBytes } from 'node:crypto';
import { invalid, isoTime, notFound, validateTags, type LogRunBody, type Run } from '@berth/core';
import type { RunRecord, MetricPoint, RunDataset } from '../store/runs.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';

const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

function checkStringMap(m: unknown, field: string): Record<string, string> {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid(`${field} must be an object of strings`, { field });
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string' || k.length === 0 || k.length > 250 || v.length > 6000) throw invalid(`${field}.${k} must be a string of at most 6000 characters`, { field });
  }
  return m as Record<string, string>;
}

export class RunService {
  constructor(private readonly deps: RegistryDeps) {}

  private toWire(r: RunRecord, metrics: Record<string, number>): Run {
    return {
      run_id: r.id,
      experiment: r.experiment,
      name: r.name,
      status: r.status,
      params: r.params,
      metrics,
      tags: r.tags,
      datasets: r.datasets,
      created_at: isoTime(r.created_at),
      updated_at: isoTime(r.updated_at),
    };
  }

  async create(actor: Actor, input: { experiment?: string; name?: string; params?: Record<string, string>; tags?: Record<string, string>; run_id?: string }): Promise<Run> {
    requireRole(actor, 'editor', 'creating a run');
    const params = checkStringMap(input.params ?? {}, 'params');
    const tags = validateTags(input.tags ?? {});
    const experiment = input.experiment ?? 'Default';
    if (typeof experiment !== 'string' || experiment.length === 0 || experiment.length > 256) throw invalid('experiment must be a name of 1-256 characters', { field: 'experiment' });
    const id = input.run_id ?? randomBytes(16).toString('hex');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw invalid('run_id must be 1-64 characters of A-Z a-z 0-9 _ -', { field: 'run_id' });
    const now = this.deps.clock.now();
    const rec: RunRecord = { id, experiment, name: input.name ?? null, status: 'RUNNING', params, tags, datasets: [], created_by: actor.name, created_at: now, updated_at: now };
    await this.deps.store.transaction(async (tx) => {
      if (await tx.runs.find(id)) throw invalid(`run ${id} already exists`, { field: 'run_id' });
      await tx.runs.insert(rec);
      await tx.audit.append({ at: now, actor: actor.name, action: 'run.create', model_id: null, model: null, subject_type: 'run', subject: id, before: null, after: { experiment, name: rec.name, params, tags }, reason: null });
    });
    return this.toWire(rec, {});
  }

  async get(id: string): Promise<Run> {
    const tx = this.deps.store.read;
    const r = await tx.runs.find(id);
    if (!r) throw notFound(`run ${JSON.stringify(id)} not found`, { run_id: id });
    return this.toWire(r, await tx.runs.latestMetrics(id));
  }

  async log(actor: Actor, id: string, input: LogRunBody): Promise<Run> {
    requireRole(actor, 'editor', 'logging to a run');
    const params = input.params ? checkStringMap(input.params, 'params') : undefined;
    const tags = input.tags ? validateTags(input.tags) : undefined;
    if (input.status !== undefined && !RUN_STATUSES.includes(input.status)) throw invalid(`status must be one of ${RUN_STATUSES.join(', ')}`, { field: 'status' });
    const now = this.deps.clock.now();
    const points: MetricPoint[] = (input.metrics ?? []).map((m) => {
      if (!m || typeof m.key !== 'string' || m.key.length === 0 || typeof m.value !== 'number') throw invalid('each metric needs a key and a numeric value', { field: 'metrics' });
      return { key: m.key, value: m.value, step: m.step ?? 0, timestamp: m.timestamp ?? now };
    });
    const datasets = input.datasets?.map((d) => {
      if (!d || typeof d.name !== 'string' || typeof d.digest !== 'string') throw invalid('each dataset needs a name and a digest', { field: 'datasets' });
      return { name: d.name, digest: d.digest, source: d.source ?? null };
    });
    await this.deps.store.transaction(async (tx) => {
      const r = await tx.runs.lock(id);
      if (!r) throw notFound(`run ${JSON.stringify(id)} not found`, { run_id: id });
      for (const [k, v] of Object.entries(params ?? {})) {
        if (k in r.params && r.params[k] !== v) throw invalid(`param ${k} is already ${JSON.stringify(r.params[k])}: params cannot change once logged`, { field: 'params' });
      }
      await tx.runs.update(
        id,
        {
          ...(params ? { params: { ...r.params, ...params } } : {}),
          ...(tags ? { tags: { ...r.tags, ...tags } } : {}),
          ...(datasets ? { datasets: [...r.datasets, ...datasets] } : {}),
          ...(input.status ? { status: input.status } : {}),
        },
        now,
      );
      await tx.runs.logMetrics(id, points);
      if (params || tags || datasets || input.status) {
        await tx.audit.append({ at: now, actor: actor.name, action: 'run.update', model_id: null, model: null, subject_type: 'run', subject: id, before: null, after: { params, tags, datasets, status: input.status }, reason: null });
      }
    });
    return this.get(id);
  }
}
