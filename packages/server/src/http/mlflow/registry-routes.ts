import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BerthError, invalid, parseMlflowFilter } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { bool, list, optStr, str, tagList, versionArg, type Args } from './params.js';
import { mlflowModel, mlflowVersion, stageArg } from './wire.js';
import { MANIFEST_PREFIX } from './artifacts-routes.js';

/** `max_results`: a whole number from 1 to the endpoint's limit (0 would page forever). */
function maxResults(a: Args, fallback: number, limit: number): number {
  const raw = a.max_results;
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > limit) throw invalid(`Invalid value ${JSON.stringify(raw)} for parameter 'max_results' supplied: it must be between 1 and ${limit}.`, { field: 'max_results' });
  return n;
}


/** Query string for GET, JSON body for everything else (DELETE too), as MLflow's client sends. */
function argsOf(req: FastifyRequest): Args {
  if (req.method === 'GET') return req.query as Args;
  const body = req.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Args) : {};
}

const mlflowActor = (req: FastifyRequest) => actorOf(req, 'mlflow');

/**
 * MLflow's ModelRegistryService (mlflow/protos/model_registry.proto) as a thin translation
 * onto the registry services. Search and `model-versions/create` (which needs the artifact
 * proxy) come with the rest of issue 3 (docs/decisions/0005-mlflow-front.md).
 */
export function registryRoutes(app: FastifyInstance, registry: Registry): void {
  const route = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | ('GET' | 'POST')[], url: string, handler: (args: Args, req: FastifyRequest) => Promise<unknown>) =>
    app.route({ method, url, handler: async (req) => (await handler(argsOf(req), req)) ?? {} });

  const modelWithLatest = async (name: string) => {
    const [m, latest] = await Promise.all([registry.models.get(name), registry.versions.latestPerStage(name)]);
    return mlflowModel(m, latest);
  };

  route('POST', '/registered-models/create', async (a, req) => {
    const name = str(a, 'name');
    const m = await registry.models.create(mlflowActor(req), { name, description: optStr(a, 'description') ?? '', tags: tagList(a) });
    return { registered_model: mlflowModel(m, []) };
  });

  route(['GET', 'POST'], '/registered-models/search', async (a) => {
    const max = maxResults(a, 100, 1000);
    const res = await registry.search.models(parseMlflowFilter(optStr(a, 'filter'), 'models'), { max, orderBy: list(a, 'order_by'), pageToken: optStr(a, 'page_token') });
    const models = await Promise.all(res.items.map((m) => modelWithLatest(m.name)));
    return { ...(models.length ? { registered_models: models } : {}), ...(res.next_page_token ? { next_page_token: res.next_page_token } : {}) };
  });

  route(['GET', 'POST'], '/model-versions/search', async (a) => {
    const max = maxResults(a, 10_000, 200_000);
    const res = await registry.search.versions(parseMlflowFilter(optStr(a, 'filter'), 'versions'), { max, orderBy: list(a, 'order_by'), pageToken: optStr(a, 'page_token') });
    return { ...(res.items.length ? { model_versions: res.items.map(mlflowVersion) } : {}), ...(res.next_page_token ? { next_page_token: res.next_page_token } : {}) };
  });

  route('GET', '/registered-models/get', async (a) => ({ registered_model: await modelWithLatest(str(a, 'name')) }));

  route('POST', '/registered-models/rename', async (a, req) => {
    const name = str(a, 'name');
    const newName = str(a, 'new_name');
    if (newName !== name) await registry.models.update(mlflowActor(req), name, { new_name: newName });
    return { registered_model: await modelWithLatest(newName) };
  });

  route('PATCH', '/registered-models/update', async (a, req) => {
    const name = str(a, 'name');
    await registry.models.update(mlflowActor(req), name, { description: optStr(a, 'description') ?? '' });
    return { registered_model: await modelWithLatest(name) };
  });

  route('DELETE', '/registered-models/delete', async (a, req) => {
    await registry.models.delete(mlflowActor(req), str(a, 'name'), { force: true });
  });

  route(['POST', 'GET'], '/registered-models/get-latest-versions', async (a) => {
    const stages = list(a, 'stages').map(stageArg);
    const latest = await registry.versions.latestPerStage(str(a, 'name'));
    const picked = stages.length ? latest.filter((v) => stages.includes(v.stage)) : latest;
    return picked.length ? { model_versions: picked.map(mlflowVersion) } : {};
  });

  route('POST', '/registered-models/set-tag', async (a, req) => {
    await registry.models.update(mlflowActor(req), str(a, 'name'), { tags: { [str(a, 'key')]: optStr(a, 'value') ?? '' } });
  });

  route('DELETE', '/registered-models/delete-tag', async (a, req) => {
    await registry.models.update(mlflowActor(req), str(a, 'name'), { untag: [str(a, 'key')] });
  });

  route('POST', '/registered-models/alias', async (a, req) => {
    const version = versionArg(a);
    await registry.aliases.set(mlflowActor(req), str(a, 'name'), str(a, 'alias'), { version });
  });

  route('DELETE', '/registered-models/alias', async (a, req) => {
    const name = str(a, 'name');
    const alias = str(a, 'alias');
    try {
      await registry.aliases.delete(mlflowActor(req), name, alias);
    } catch (err) {
      // Deleting an unset alias is a silent success in MLflow; a missing model is not.
      if (err instanceof BerthError && err.code === 'NOT_FOUND' && err.details.alias === alias) return;
      throw err;
    }
  });

  route('GET', '/registered-models/alias', async (a) => {
    const name = str(a, 'name');
    const alias = str(a, 'alias');
    if (alias.toLowerCase() === 'latest') {
      const [newest] = (await registry.versions.list(name, { limit: 1 })).items;
      if (!newest) throw invalid(`Registered model ${name} has no versions.`, { field: 'alias' });
      return { model_version: mlflowVersion(newest) };
    }
    try {
      return { model_version: mlflowVersion(await registry.versions.resolveAlias(name, alias)) };
    } catch (err) {
      // MLflow answers an unknown alias with INVALID_PARAMETER_VALUE, not 404.
      if (err instanceof BerthError && err.code === 'NOT_FOUND' && err.details.alias === alias) throw invalid(`Registered model alias ${alias} not found.`, { field: 'alias' });
      throw err;
    }
  });

  route('POST', '/model-versions/create', async (a, req) => {
    const name = str(a, 'name');
    const v = await registry.versions.createFromArtifacts(mlflowActor(req), name, str(a, 'source'), {
      run_id: optStr(a, 'run_id') || null,
      tags: tagList(a),
      description: optStr(a, 'description') ?? '',
      createModel: false, // MLflow never creates the model here
    });
    return { model_version: mlflowVersion(v) };
  });

  route('GET', '/model-versions/get-download-uri', async (a) => {
    const v = await registry.versions.get(str(a, 'name'), versionArg(a));
    return { artifact_uri: `mlflow-artifacts:/${MANIFEST_PREFIX}/${v.digest.slice('sha256:'.length)}` };
  });

  route('GET', '/model-versions/get', async (a) => ({ model_version: mlflowVersion(await registry.versions.get(str(a, 'name'), versionArg(a))) }));

  route('PATCH', '/model-versions/update', async (a, req) => {
    const v = await registry.versions.update(mlflowActor(req), str(a, 'name'), versionArg(a), { description: optStr(a, 'description') ?? '' });
    return { model_version: mlflowVersion(v) };
  });

  route('DELETE', '/model-versions/delete', async (a, req) => {
    await registry.versions.delete(mlflowActor(req), str(a, 'name'), versionArg(a), { force: true });
  });

  route('POST', '/model-versions/set-tag', async (a, req) => {
    await registry.versions.update(mlflowActor(req), str(a, 'name'), versionArg(a), { tags: { [str(a, 'key')]: optStr(a, 'value') ?? '' } });
  });

  route('DELETE', '/model-versions/delete-tag', async (a, req) => {
    await registry.versions.update(mlflowActor(req), str(a, 'name'), versionArg(a), { untag: [str(a, 'key')] });
  });

  route('POST', '/model-versions/transition-stage', async (a, req) => {
    const v = await registry.versions.setStage(mlflowActor(req), str(a, 'name'), versionArg(a), stageArg(str(a, 'stage')), bool(a, 'archive_existing_versions'));
    return { model_version: mlflowVersion(v) };
  });
}
