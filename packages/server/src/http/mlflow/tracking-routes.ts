import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid, parseMlflowExperimentFilter, parseMlflowExperimentOrderBy, parseMlflowRunFilter, parseMlflowRunOrderBy } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { loggedModelArtifactRoot, runArtifactRoot, type ExperimentRecord, type LoggedModelRecord, type RunWithMetrics, type ViewType } from '../../registry/tracking.js';
import { actorOf } from '../actor.js';
import { list, optStr, str, tagList, type Args } from './params.js';

function argsOf(req: FastifyRequest): Args {
  if (req.method === 'GET') return req.query as Args;
  const body = req.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Args) : {};
}

const kv = (o: Record<string, string>) => Object.entries(o).map(([key, value]) => ({ key, value }));

export function mlflowExperiment(e: ExperimentRecord) {
  return {
    experiment_id: e.id,
    name: e.name,
    artifact_location: `mlflow-artifacts:/${e.artifact_location}`,
    lifecycle_stage: e.lifecycle_stage,
    creation_time: e.created_at,
    last_update_time: e.updated_at,
    ...(Object.keys(e.tags).length ? { tags: kv(e.tags) } : {}),
  };
}

function runInfo(r: RunWithMetrics['run']) {
  return {
    run_id: r.id,
    run_uuid: r.id,
    run_name: r.name ?? '',
    experiment_id: r.experiment_id ?? '0',
    user_id: r.created_by,
    status: r.status,
    start_time: r.start_time ?? r.created_at,
    ...(r.end_time ? { end_time: r.end_time } : {}),
    artifact_uri: `mlflow-artifacts:/${runArtifactRoot(r)}`,
    lifecycle_stage: r.lifecycle_stage ?? 'active',
  };
}

export function mlflowRun({ run, metrics }: RunWithMetrics) {
  return {
    info: runInfo(run),
    data: {
      ...(metrics.length ? { metrics: metrics.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step })) } : {}),
      ...(Object.keys(run.params).length ? { params: kv(run.params) } : {}),
      ...(Object.keys(run.tags).length ? { tags: kv(run.tags) } : {}),
    },
    inputs: run.datasets.length
      ? {
          dataset_inputs: run.datasets.map((d) => ({
            ...(d.tags && Object.keys(d.tags).length ? { tags: kv(d.tags) } : {}),
            dataset: { name: d.name, digest: d.digest, source_type: d.source_type ?? '', source: d.source ?? '', ...(d.schema ? { schema: d.schema } : {}), ...(d.profile ? { profile: d.profile } : {}) },
          })),
        }
      : {},
    outputs: run.outputs?.length ? { model_outputs: run.outputs } : {},
  };
}

export function mlflowLoggedModel(m: LoggedModelRecord) {
  return {
    info: {
      model_id: m.id,
      experiment_id: m.experiment_id,
      name: m.name,
      creation_timestamp_ms: m.created_at,
      last_updated_timestamp_ms: m.updated_at,
      artifact_uri: `mlflow-artifacts:/${loggedModelArtifactRoot(m)}`,
      status: m.status,
      ...(m.model_type ? { model_type: m.model_type } : {}),
      ...(m.source_run_id ? { source_run_id: m.source_run_id } : {}),
      ...(Object.keys(m.tags).length ? { tags: kv(m.tags) } : {}),
    },
    data: Object.keys(m.params).length ? { params: kv(m.params) } : {},
  };
}

function num(args: Args, key: string): number | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalid(`Parameter '${key}' must be a number.`, { field: key });
  return n;
}

function metricList(args: Args, key: string) {
  const v = args[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(`Parameter '${key}' must be a list.`, { field: key });
  return v.map((m) => {
    const o = (m ?? {}) as Args;
    const value = typeof o.value === 'string' ? Number(o.value) : o.value;
    if (typeof o.key !== 'string' || typeof value !== 'number') throw invalid('Each metric needs a key and a numeric value.', { field: key });
    return { key: o.key, value, step: Number(o.step ?? 0), timestamp: Number(o.timestamp ?? Date.now()) };
  });
}

/** MLflow's ViewType, by name (what the client sends) or number; ACTIVE_ONLY when absent. */
const VIEW_TYPES: Record<string, ViewType> = { ACTIVE_ONLY: 'ACTIVE_ONLY', DELETED_ONLY: 'DELETED_ONLY', ALL: 'ALL', '1': 'ACTIVE_ONLY', '2': 'DELETED_ONLY', '3': 'ALL' };

function viewType(args: Args, key: string): ViewType {
  const v = args[key];
  if (v === undefined || v === null || v === '') return 'ACTIVE_ONLY';
  const t = VIEW_TYPES[String(v).toUpperCase()];
  if (!t) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}': use ACTIVE_ONLY, DELETED_ONLY or ALL.`, { field: key });
  return t;
}

/** `max_results` as MLflow's search endpoints take it: a whole number, 1000 when absent. */
function maxResults(args: Args): number {
  const v = args.max_results;
  if (v === undefined || v === null || v === '') return 1000;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter 'max_results' supplied: it must be a whole number.`, { field: 'max_results' });
  return n;
}

/** A list of strings (order_by, experiment_ids): a JSON list, repeated query keys, or one value. */
function stringList(args: Args, key: string): string[] {
  const v = args[key];
  if (v === undefined || v === null) return [];
  const items = Array.isArray(v) ? v : [v];
  if (!items.every((x) => typeof x === 'string' || typeof x === 'number')) throw invalid(`Parameter '${key}' must be a list of strings.`, { field: key });
  return items.map(String);
}

/** MLflow's tracking endpoints that the registry workflows use (reference §4). */
export function trackingRoutes(app: FastifyInstance, registry: Registry): void {
  const { experiments, runs, loggedModels } = registry;
  const actor = (req: FastifyRequest) => actorOf(req, 'mlflow');
  const route = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | ('GET' | 'POST')[], url: string, handler: (args: Args, req: FastifyRequest) => Promise<unknown>) =>
    app.route({ method, url, handler: async (req) => (await handler({ ...argsOf(req), ...(req.params as Args) }, req)) ?? {} });

  route('GET', '/experiments/get-by-name', async (a) => ({ experiment: mlflowExperiment(await experiments.getByName(str(a, 'experiment_name'))) }));
  route('GET', '/experiments/get', async (a) => ({ experiment: mlflowExperiment(await experiments.get(str(a, 'experiment_id'))) }));
  route('POST', '/experiments/create', async (a, req) => ({ experiment_id: (await experiments.create(actor(req), str(a, 'name'), tagList(a))).id }));
  route(['GET', 'POST'], '/experiments/search', async (a) => {
    const page = await experiments.search({
      viewType: viewType(a, 'view_type'),
      filter: parseMlflowExperimentFilter(optStr(a, 'filter')),
      order: parseMlflowExperimentOrderBy(stringList(a, 'order_by')),
      max: maxResults(a),
      pageToken: optStr(a, 'page_token'),
    });
    return { ...(page.items.length ? { experiments: page.items.map(mlflowExperiment) } : {}), ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}) };
  });
  route('POST', '/experiments/delete', async (a, req) => {
    await experiments.delete(actor(req), str(a, 'experiment_id'));
  });
  route('POST', '/experiments/restore', async (a, req) => {
    await experiments.restore(actor(req), str(a, 'experiment_id'));
  });
  route('POST', '/experiments/update', async (a, req) => {
    await experiments.rename(actor(req), str(a, 'experiment_id'), str(a, 'new_name'));
  });

  route('POST', '/runs/search', async (a) => {
    const page = await runs.search({
      experimentIds: stringList(a, 'experiment_ids'),
      filter: parseMlflowRunFilter(optStr(a, 'filter')),
      order: parseMlflowRunOrderBy(stringList(a, 'order_by')),
      viewType: viewType(a, 'run_view_type'),
      max: maxResults(a),
      pageToken: optStr(a, 'page_token'),
    });
    return { ...(page.items.length ? { runs: page.items.map(mlflowRun) } : {}), ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}) };
  });
  route('POST', '/runs/delete', async (a, req) => {
    await runs.delete(actor(req), str(a, 'run_id'));
  });
  route('POST', '/runs/restore', async (a, req) => {
    await runs.restore(actor(req), str(a, 'run_id'));
  });

  route('POST', '/runs/create', async (a, req) => {
    const r = await runs.start(actor(req), { experiment_id: optStr(a, 'experiment_id'), run_name: optStr(a, 'run_name'), start_time: num(a, 'start_time'), tags: tagList(a) });
    return { run: mlflowRun(r) };
  });
  route('GET', '/runs/get', async (a) => ({ run: mlflowRun(await runs.getWithMetrics(optStr(a, 'run_id') ?? str(a, 'run_uuid'))) }));
  route('POST', '/runs/update', async (a, req) => {
    const id = optStr(a, 'run_id') ?? str(a, 'run_uuid');
    await runs.record(actor(req), id, { status: optStr(a, 'status'), end_time: num(a, 'end_time'), run_name: optStr(a, 'run_name') });
    return { run_info: runInfo((await runs.getWithMetrics(id)).run) };
  });
  route('POST', '/runs/log-batch', async (a, req) => {
    const params: Record<string, string> = {};
    for (const p of (a.params as Args[] | undefined) ?? []) params[String(p.key)] = String(p.value ?? '');
    await runs.record(actor(req), str(a, 'run_id'), { metrics: metricList(a, 'metrics'), params, tags: tagList(a) });
  });
  route('POST', '/runs/log-metric', async (a, req) => {
    await runs.record(actor(req), optStr(a, 'run_id') ?? str(a, 'run_uuid'), { metrics: metricList({ m: [a] }, 'm') });
  });
  route('POST', '/runs/log-parameter', async (a, req) => {
    await runs.record(actor(req), optStr(a, 'run_id') ?? str(a, 'run_uuid'), { params: { [str(a, 'key')]: String(a.value ?? '') } });
  });
  route('POST', '/runs/set-tag', async (a, req) => {
    await runs.record(actor(req), optStr(a, 'run_id') ?? str(a, 'run_uuid'), { tags: { [str(a, 'key')]: String(a.value ?? '') } });
  });
  route('POST', '/runs/log-inputs', async (a, req) => {
    const list = a.datasets;
    if (list !== undefined && !Array.isArray(list)) throw invalid("Parameter 'datasets' must be a list.", { field: 'datasets' });
    const datasets = ((list as Args[] | undefined) ?? []).map((input) => {
      const d = (input.dataset ?? {}) as Args;
      const tags: Record<string, string> = {};
      for (const t of (input.tags as Args[] | undefined) ?? []) tags[String(t.key)] = String(t.value ?? '');
      if (typeof d.name !== 'string' || typeof d.digest !== 'string') throw invalid('Each dataset input needs dataset.name and dataset.digest.', { field: 'datasets' });
      return {
        name: d.name,
        digest: d.digest,
        source: typeof d.source === 'string' ? d.source : null,
        source_type: typeof d.source_type === 'string' ? d.source_type : undefined,
        schema: typeof d.schema === 'string' ? d.schema : undefined,
        profile: typeof d.profile === 'string' ? d.profile : undefined,
        tags,
      };
    });
    await runs.record(actor(req), str(a, 'run_id'), { datasets });
  });
  route('POST', '/runs/outputs', async (a, req) => {
    const models = ((a.models as Args[] | undefined) ?? []).map((m) => ({ model_id: String(m.model_id), step: Number(m.step ?? 0) }));
    await runs.record(actor(req), str(a, 'run_id'), { outputs: models });
  });
  route('GET', '/metrics/get-history', async (a) => {
    const points = await runs.metricHistory(optStr(a, 'run_id') ?? str(a, 'run_uuid'), str(a, 'metric_key'));
    return points.length ? { metrics: points.map((p) => ({ key: p.key, value: p.value, timestamp: p.timestamp, step: p.step })) } : {};
  });

  route('POST', '/logged-models', async (a, req) => {
    const params: Record<string, string> = {};
    for (const p of (a.params as Args[] | undefined) ?? []) params[String(p.key)] = String(p.value ?? '');
    const m = await loggedModels.create(actor(req), { experiment_id: str(a, 'experiment_id'), name: optStr(a, 'name'), source_run_id: optStr(a, 'source_run_id'), params, tags: tagList(a), model_type: optStr(a, 'model_type') });
    return { model: mlflowLoggedModel(m) };
  });
  route('POST', '/logged-models/search', async (a) => {
    const filter = optStr(a, 'filter') ?? '';
    const m = /^\s*name\s*=\s*['"]([^'"]*)['"]\s*$/i.exec(filter);
    if (filter.trim() !== '' && !m) throw invalid(`Unsupported logged model filter ${JSON.stringify(filter)}: only name = '<name>' is supported`, { field: 'filter' });
    const models = await loggedModels.search(list(a, 'experiment_ids'), m?.[1], Math.min(num(a, 'max_results') ?? 50, 1000));
    return models.length ? { models: models.map(mlflowLoggedModel) } : {};
  });
  route('GET', '/logged-models/:model_id', async (a) => ({ model: mlflowLoggedModel(await loggedModels.get(str(a, 'model_id'))) }));
  route('PATCH', '/logged-models/:model_id', async (a, req) => ({ model: mlflowLoggedModel(await loggedModels.update(actor(req), str(a, 'model_id'), { status: optStr(a, 'status') })) }));
  route('PATCH', '/logged-models/:model_id/tags', async (a, req) => ({ model: mlflowLoggedModel(await loggedModels.update(actor(req), str(a, 'model_id'), { tags: tagList(a) })) }));
}
