import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { invalid, parseMlflowExperimentFilter, parseMlflowExperimentOrderBy, parseMlflowRunFilter, parseMlflowRunOrderBy } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import {
  loggedModelArtifactRoot,
  runArtifactRoot,
  type ExperimentRecord,
  type LoggedModelRecord,
  type RunWithMetrics,
  type ViewType,
} from '../../registry/tracking.js';
import { actorOf } from '../actor.js';
import { NumArg, OptStr, ParamList, Required, StringList, TagList, ViewTypeArg, mlflowRoute, params, stringList, tags } from './params.js';

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
            dataset: {
              name: d.name,
              digest: d.digest,
              source_type: d.source_type ?? '',
              source: d.source ?? '',
              ...(d.schema ? { schema: d.schema } : {}),
              ...(d.profile ? { profile: d.profile } : {}),
            },
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

/** A metric point; the value may be a string (protobuf's JSON writes NaN and the infinities as "NaN", "Infinity"). */
const Metric = Type.Object({
  key: Type.String(),
  value: Type.Union([Type.Number(), Type.String()]),
  step: Type.Optional(Type.Integer()),
  timestamp: Type.Optional(Type.Integer()),
});
const MetricList = Type.Optional(
  Type.Array(Metric, { message: "Parameter '{key}' must be a list.", itemMessage: 'Each metric needs a key and a numeric value.' }),
);
const metric = (m: Static<typeof Metric>) => ({ key: m.key, value: Number(m.value), step: m.step ?? 0, timestamp: m.timestamp ?? Date.now() });

/** MLflow's ViewType, by name (what the client sends, in any case) or number; ACTIVE_ONLY when absent. */
const VIEW_TYPES: Record<string, ViewType> = {
  ACTIVE_ONLY: 'ACTIVE_ONLY',
  DELETED_ONLY: 'DELETED_ONLY',
  ALL: 'ALL',
  '1': 'ACTIVE_ONLY',
  '2': 'DELETED_ONLY',
  '3': 'ALL',
};

function viewType(v: string | number | undefined, key: string): ViewType {
  if (v === undefined || v === '') return 'ACTIVE_ONLY';
  const t = VIEW_TYPES[String(v).toUpperCase()];
  if (!t) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}': use ACTIVE_ONLY, DELETED_ONLY or ALL.`, { field: key });
  return t;
}

/** `max_results` as MLflow's search endpoints take it: a whole number, 1000 when absent (the service checks its range). */
const MaxResults = Type.Optional(Type.Integer({ message: "Invalid value {value} for parameter 'max_results' supplied: it must be a whole number." }));

/** Runs are named by `run_id`, or by `run_uuid` in older clients. */
const RunRef = { run_id: OptStr, run_uuid: OptStr };
function runIdOf(a: { run_id?: string; run_uuid?: string }): string {
  if (a.run_id !== undefined) return a.run_id;
  if (!a.run_uuid) throw invalid("Missing value for required parameter 'run_uuid'.", { field: 'run_uuid' });
  return a.run_uuid;
}

/** MLflow's tracking endpoints that the registry workflows use (reference §4). */
export function trackingRoutes(app: FastifyInstance, registry: Registry): void {
  const { experiments, runs, loggedModels } = registry;
  const actor = (req: FastifyRequest) => actorOf(req, 'mlflow');
  const ExperimentId = Type.Object({ experiment_id: Required });
  const RunId = Type.Object({ run_id: Required });

  mlflowRoute(app, 'GET', '/experiments/get-by-name', Type.Object({ experiment_name: Required }), async (a) => ({
    experiment: mlflowExperiment(await experiments.getByName(a.experiment_name)),
  }));
  mlflowRoute(app, 'GET', '/experiments/get', ExperimentId, async (a) => ({ experiment: mlflowExperiment(await experiments.get(a.experiment_id)) }));
  mlflowRoute(app, 'POST', '/experiments/create', Type.Object({ name: Required, tags: TagList }), async (a, req) => ({
    experiment_id: (await experiments.create(actor(req), a.name, tags(a.tags))).id,
  }));
  const searchExperiments = Type.Object({ view_type: ViewTypeArg, filter: OptStr, order_by: StringList, max_results: MaxResults, page_token: OptStr });
  mlflowRoute(app, ['GET', 'POST'], '/experiments/search', searchExperiments, async (a) => {
    const page = await experiments.search({
      viewType: viewType(a.view_type, 'view_type'),
      filter: parseMlflowExperimentFilter(a.filter),
      order: parseMlflowExperimentOrderBy(stringList(a.order_by)),
      max: a.max_results ?? 1000,
      pageToken: a.page_token,
    });
    return {
      ...(page.items.length ? { experiments: page.items.map(mlflowExperiment) } : {}),
      ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}),
    };
  });
  mlflowRoute(app, 'POST', '/experiments/delete', ExperimentId, async (a, req) => {
    await experiments.delete(actor(req), a.experiment_id);
  });
  mlflowRoute(app, 'POST', '/experiments/restore', ExperimentId, async (a, req) => {
    await experiments.restore(actor(req), a.experiment_id);
  });
  mlflowRoute(app, 'POST', '/experiments/update', Type.Object({ experiment_id: Required, new_name: Required }), async (a, req) => {
    await experiments.rename(actor(req), a.experiment_id, a.new_name);
  });

  const searchRuns = Type.Object({
    experiment_ids: StringList,
    filter: OptStr,
    order_by: StringList,
    run_view_type: ViewTypeArg,
    max_results: MaxResults,
    page_token: OptStr,
  });
  mlflowRoute(app, 'POST', '/runs/search', searchRuns, async (a) => {
    const page = await runs.search({
      experimentIds: stringList(a.experiment_ids),
      filter: parseMlflowRunFilter(a.filter),
      order: parseMlflowRunOrderBy(stringList(a.order_by)),
      viewType: viewType(a.run_view_type, 'run_view_type'),
      max: a.max_results ?? 1000,
      pageToken: a.page_token,
    });
    return { ...(page.items.length ? { runs: page.items.map(mlflowRun) } : {}), ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}) };
  });
  mlflowRoute(app, 'POST', '/runs/delete', RunId, async (a, req) => {
    await runs.delete(actor(req), a.run_id);
  });
  mlflowRoute(app, 'POST', '/runs/restore', RunId, async (a, req) => {
    await runs.restore(actor(req), a.run_id);
  });

  mlflowRoute(app, 'POST', '/runs/create', Type.Object({ experiment_id: OptStr, run_name: OptStr, start_time: NumArg, tags: TagList }), async (a, req) => {
    const r = await runs.start(actor(req), { experiment_id: a.experiment_id, run_name: a.run_name, start_time: a.start_time, tags: tags(a.tags) });
    return { run: mlflowRun(r) };
  });
  mlflowRoute(app, 'GET', '/runs/get', Type.Object(RunRef), async (a) => ({ run: mlflowRun(await runs.getWithMetrics(runIdOf(a))) }));
  mlflowRoute(app, 'POST', '/runs/update', Type.Object({ ...RunRef, status: OptStr, end_time: NumArg, run_name: OptStr }), async (a, req) => {
    const id = runIdOf(a);
    await runs.record(actor(req), id, { status: a.status, end_time: a.end_time, run_name: a.run_name });
    return { run_info: runInfo((await runs.getWithMetrics(id)).run) };
  });
  mlflowRoute(app, 'POST', '/runs/log-batch', Type.Object({ run_id: Required, metrics: MetricList, params: ParamList, tags: TagList }), async (a, req) => {
    await runs.record(actor(req), a.run_id, { metrics: (a.metrics ?? []).map(metric), params: params(a.params), tags: tags(a.tags) });
  });
  mlflowRoute(app, 'POST', '/runs/log-metric', Type.Object({ ...RunRef, ...Metric.properties }), async (a, req) => {
    await runs.record(actor(req), runIdOf(a), { metrics: [metric(a)] });
  });
  const KeyValue = Type.Object({ ...RunRef, key: Required, value: Type.Optional(Type.Unknown()) });
  mlflowRoute(app, 'POST', '/runs/log-parameter', KeyValue, async (a, req) => {
    await runs.record(actor(req), runIdOf(a), { params: { [a.key]: String(a.value ?? '') } });
  });
  mlflowRoute(app, 'POST', '/runs/set-tag', KeyValue, async (a, req) => {
    await runs.record(actor(req), runIdOf(a), { tags: { [a.key]: String(a.value ?? '') } });
  });
  const DatasetInput = Type.Object({
    dataset: Type.Object({
      name: Type.String(),
      digest: Type.String(),
      source: Type.Optional(Type.Unknown()),
      source_type: Type.Optional(Type.Unknown()),
      schema: Type.Optional(Type.Unknown()),
      profile: Type.Optional(Type.Unknown()),
    }),
    tags: Type.Optional(Type.Array(Type.Object({ key: Type.Unknown(), value: Type.Optional(Type.Unknown()) }))),
  });
  const datasets = Type.Optional(
    Type.Array(DatasetInput, { message: "Parameter '{key}' must be a list.", itemMessage: 'Each dataset input needs dataset.name and dataset.digest.' }),
  );
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  mlflowRoute(app, 'POST', '/runs/log-inputs', Type.Object({ run_id: Required, datasets }), async (a, req) => {
    const inputs = (a.datasets ?? []).map(({ dataset: d, tags }) => ({
      name: d.name,
      digest: d.digest,
      source: text(d.source) ?? null,
      source_type: text(d.source_type),
      schema: text(d.schema),
      profile: text(d.profile),
      tags: Object.fromEntries((tags ?? []).map((t) => [String(t.key), String(t.value ?? '')])),
    }));
    await runs.record(actor(req), a.run_id, { datasets: inputs });
  });
  const outputs = Type.Optional(
    Type.Array(Type.Object({ model_id: Type.Unknown(), step: Type.Optional(Type.Integer()) }), {
      message: "Parameter '{key}' must be a list of {model_id, step}.",
    }),
  );
  mlflowRoute(app, 'POST', '/runs/outputs', Type.Object({ run_id: Required, models: outputs }), async (a, req) => {
    await runs.record(actor(req), a.run_id, { outputs: (a.models ?? []).map((m) => ({ model_id: String(m.model_id), step: m.step ?? 0 })) });
  });
  mlflowRoute(app, 'GET', '/metrics/get-history', Type.Object({ ...RunRef, metric_key: Required }), async (a) => {
    const points = await runs.metricHistory(runIdOf(a), a.metric_key);
    return points.length ? { metrics: points.map((p) => ({ key: p.key, value: p.value, timestamp: p.timestamp, step: p.step })) } : {};
  });

  const createLoggedModel = Type.Object({ experiment_id: Required, name: OptStr, source_run_id: OptStr, params: ParamList, tags: TagList, model_type: OptStr });
  mlflowRoute(app, 'POST', '/logged-models', createLoggedModel, async (a, req) => {
    const m = await loggedModels.create(actor(req), {
      experiment_id: a.experiment_id,
      name: a.name,
      source_run_id: a.source_run_id,
      params: params(a.params),
      tags: tags(a.tags),
      model_type: a.model_type,
    });
    return { model: mlflowLoggedModel(m) };
  });
  mlflowRoute(app, 'POST', '/logged-models/search', Type.Object({ experiment_ids: StringList, filter: OptStr, max_results: NumArg }), async (a) => {
    const filter = a.filter ?? '';
    const m = /^\s*name\s*=\s*['"]([^'"]*)['"]\s*$/i.exec(filter);
    if (filter.trim() !== '' && !m)
      throw invalid(`Unsupported logged model filter ${JSON.stringify(filter)}: only name = '<name>' is supported`, { field: 'filter' });
    const models = await loggedModels.search(stringList(a.experiment_ids), m?.[1], Math.min(a.max_results ?? 50, 1000));
    return models.length ? { models: models.map(mlflowLoggedModel) } : {};
  });
  const modelId = (req: FastifyRequest) => (req.params as { model_id: string }).model_id;
  mlflowRoute(app, 'GET', '/logged-models/:model_id', Type.Object({}), async (_a, req) => ({ model: mlflowLoggedModel(await loggedModels.get(modelId(req))) }));
  mlflowRoute(app, 'PATCH', '/logged-models/:model_id', Type.Object({ status: OptStr }), async (a, req) => ({
    model: mlflowLoggedModel(await loggedModels.update(actor(req), modelId(req), { status: a.status })),
  }));
  mlflowRoute(app, 'PATCH', '/logged-models/:model_id/tags', Type.Object({ tags: TagList }), async (a, req) => ({
    model: mlflowLoggedModel(await loggedModels.update(actor(req), modelId(req), { tags: tags(a.tags) })),
  }));
}
