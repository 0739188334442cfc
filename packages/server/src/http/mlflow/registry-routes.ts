import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { BerthError, invalid, parseMlflowFilter } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import type { VersionView } from '../../registry/results.js';
import { mlflowModelKind } from '../../registry/mlflow-prompts.js';
import { actorOf } from '../actor.js';
import { BoolArg, OptStr, Required, StringList, TagList, VersionArg, mlflowRoute, stringList, tags } from './params.js';
import { mlflowModel, mlflowVersion, stageArg } from './wire.js';
import { MANIFEST_PREFIX } from './artifacts-routes.js';

/** `max_results`: a whole number from 1 to the endpoint's limit (0 would page forever). */
const MaxResults = (limit: number) =>
  Type.Optional(
    Type.Integer({ minimum: 1, maximum: limit, message: `Invalid value {value} for parameter 'max_results' supplied: it must be between 1 and ${limit}.` }),
  );

const Name = Type.Object({ name: Required });
const NameVersion = Type.Object({ name: Required, version: VersionArg });
const Search = (limit: number) => Type.Object({ filter: OptStr, max_results: MaxResults(limit), order_by: StringList, page_token: OptStr });

const mlflowActor = (req: FastifyRequest) => actorOf(req, 'mlflow');

/**
 * MLflow's ModelRegistryService (mlflow/protos/model_registry.proto) as a thin translation
 * onto the registry services: registered models, model versions (created from a source in the
 * artifact store), their tags, aliases, stages and searches.
 */
export function registryRoutes(app: FastifyInstance, registry: Registry): void {
  // A prompt's versions carry the tags MLflow's prompt client reads, its template among them (registry/mlflow-prompts.ts).
  const versionsOut = async (vs: VersionView[]) => (await registry.mlflowPrompts.withTemplateTags(vs)).map(mlflowVersion);
  const versionOut = async (v: VersionView) => (await versionsOut([v]))[0] as Record<string, unknown>;
  const modelWithLatest = async (name: string) => {
    const [m, latest] = await Promise.all([registry.models.get(name), registry.versions.latestPerStage(name)]);
    return mlflowModel(m, await registry.mlflowPrompts.withTemplateTags(latest));
  };

  const create = Type.Object({ name: Required, description: OptStr, tags: TagList });
  mlflowRoute(app, 'POST', '/registered-models/create', create, async (a, req) => {
    const t = tags(a.tags);
    const m = await registry.models.create(mlflowActor(req), { name: a.name, description: a.description ?? '', tags: t, kind: mlflowModelKind(t) });
    return { registered_model: mlflowModel(m, []) };
  });

  mlflowRoute(app, ['GET', 'POST'], '/registered-models/search', Search(1000), async (a) => {
    const res = await registry.search.models(parseMlflowFilter(a.filter, 'models'), {
      max: a.max_results ?? 100,
      orderBy: stringList(a.order_by),
      pageToken: a.page_token,
    });
    const models = await Promise.all(res.items.map((m) => modelWithLatest(m.name)));
    return { ...(models.length ? { registered_models: models } : {}), ...(res.next_page_token ? { next_page_token: res.next_page_token } : {}) };
  });

  mlflowRoute(app, ['GET', 'POST'], '/model-versions/search', Search(200_000), async (a) => {
    const res = await registry.search.versions(parseMlflowFilter(a.filter, 'versions'), {
      max: a.max_results ?? 10_000,
      orderBy: stringList(a.order_by),
      pageToken: a.page_token,
    });
    return {
      ...(res.items.length ? { model_versions: await versionsOut(res.items) } : {}),
      ...(res.next_page_token ? { next_page_token: res.next_page_token } : {}),
    };
  });

  mlflowRoute(app, 'GET', '/registered-models/get', Name, async (a) => ({ registered_model: await modelWithLatest(a.name) }));

  mlflowRoute(app, 'POST', '/registered-models/rename', Type.Object({ name: Required, new_name: Required }), async (a, req) => {
    if (a.new_name !== a.name) await registry.models.update(mlflowActor(req), a.name, { new_name: a.new_name });
    return { registered_model: await modelWithLatest(a.new_name) };
  });

  mlflowRoute(app, 'PATCH', '/registered-models/update', Type.Object({ name: Required, description: OptStr }), async (a, req) => {
    await registry.models.update(mlflowActor(req), a.name, { description: a.description ?? '' });
    return { registered_model: await modelWithLatest(a.name) };
  });

  mlflowRoute(app, 'DELETE', '/registered-models/delete', Name, async (a, req) => {
    await registry.models.delete(mlflowActor(req), a.name, { force: true, dropOrdinaryAliases: true });
  });

  mlflowRoute(app, ['POST', 'GET'], '/registered-models/get-latest-versions', Type.Object({ name: Required, stages: StringList }), async (a) => {
    const stages = stringList(a.stages).map(stageArg);
    const latest = await registry.versions.latestPerStage(a.name);
    const picked = stages.length ? latest.filter((v) => stages.includes(v.stage)) : latest;
    return picked.length ? { model_versions: await versionsOut(picked) } : {};
  });

  mlflowRoute(app, 'POST', '/registered-models/set-tag', Type.Object({ name: Required, key: Required, value: OptStr }), async (a, req) => {
    await registry.models.update(mlflowActor(req), a.name, { tags: { [a.key]: a.value ?? '' } });
  });

  mlflowRoute(app, 'DELETE', '/registered-models/delete-tag', Type.Object({ name: Required, key: Required }), async (a, req) => {
    await registry.models.update(mlflowActor(req), a.name, { untag: [a.key] });
  });

  const NameAlias = Type.Object({ name: Required, alias: Required });
  mlflowRoute(app, 'POST', '/registered-models/alias', Type.Object({ name: Required, alias: Required, version: VersionArg }), async (a, req) => {
    await registry.aliases.set(mlflowActor(req), a.name, a.alias, { version: Number(a.version) });
  });

  mlflowRoute(app, 'DELETE', '/registered-models/alias', NameAlias, async ({ name, alias }, req) => {
    try {
      await registry.aliases.delete(mlflowActor(req), name, alias);
    } catch (err) {
      // Deleting an unset alias is a silent success in MLflow; a missing model is not.
      if (err instanceof BerthError && err.code === 'NOT_FOUND' && err.details.alias === alias) return;
      throw err;
    }
  });

  mlflowRoute(app, 'GET', '/registered-models/alias', NameAlias, async ({ name, alias }) => {
    if (alias.toLowerCase() === 'latest') {
      const [newest] = (await registry.versions.list(name, { limit: 1 })).items;
      if (!newest) throw invalid(`Registered model ${name} has no versions.`, { field: 'alias' });
      return { model_version: await versionOut(newest) };
    }
    try {
      return { model_version: await versionOut(await registry.versions.resolveAlias(name, alias)) };
    } catch (err) {
      // MLflow answers an unknown alias with INVALID_PARAMETER_VALUE, not 404.
      if (err instanceof BerthError && err.code === 'NOT_FOUND' && err.details.alias === alias)
        throw invalid(`Registered model alias ${alias} not found.`, { field: 'alias' });
      throw err;
    }
  });

  const createVersion = Type.Object({ name: Required, source: Required, run_id: OptStr, tags: TagList, description: OptStr });
  mlflowRoute(app, 'POST', '/model-versions/create', createVersion, async (a, req) => {
    const v = await registry.mlflowPrompts.createModelVersion(mlflowActor(req), a.name, a.source, {
      run_id: a.run_id || null,
      tags: tags(a.tags),
      description: a.description ?? '',
      createModel: false, // MLflow never creates the model here
    });
    return { model_version: await versionOut(v) };
  });

  mlflowRoute(app, 'GET', '/model-versions/get-download-uri', NameVersion, async (a) => {
    const v = await registry.versions.get(a.name, Number(a.version));
    // An external version's bytes are where it was registered from, as MLflow answers for any source.
    if (v.external_uri !== null) return { artifact_uri: v.external_uri };
    return { artifact_uri: `mlflow-artifacts:/${MANIFEST_PREFIX}/${v.digest.slice('sha256:'.length)}` };
  });

  mlflowRoute(app, 'GET', '/model-versions/get', NameVersion, async (a) => ({
    model_version: await versionOut(await registry.versions.get(a.name, Number(a.version))),
  }));

  mlflowRoute(app, 'PATCH', '/model-versions/update', Type.Object({ name: Required, version: VersionArg, description: OptStr }), async (a, req) => {
    const v = await registry.versions.update(mlflowActor(req), a.name, Number(a.version), { description: a.description ?? '' });
    return { model_version: await versionOut(v) };
  });

  mlflowRoute(app, 'DELETE', '/model-versions/delete', NameVersion, async (a, req) => {
    await registry.versions.delete(mlflowActor(req), a.name, Number(a.version), { dropOrdinaryAliases: true });
  });

  mlflowRoute(app, 'POST', '/model-versions/set-tag', Type.Object({ name: Required, version: VersionArg, key: Required, value: OptStr }), async (a, req) => {
    await registry.mlflowPrompts.checkVersionTag(a.name, a.key);
    await registry.versions.update(mlflowActor(req), a.name, Number(a.version), { tags: { [a.key]: a.value ?? '' } });
  });

  mlflowRoute(app, 'DELETE', '/model-versions/delete-tag', Type.Object({ name: Required, version: VersionArg, key: Required }), async (a, req) => {
    await registry.mlflowPrompts.checkVersionTag(a.name, a.key);
    await registry.versions.update(mlflowActor(req), a.name, Number(a.version), { untag: [a.key] });
  });

  const transition = Type.Object({ name: Required, version: VersionArg, stage: Required, archive_existing_versions: BoolArg });
  mlflowRoute(app, 'POST', '/model-versions/transition-stage', transition, async (a, req) => {
    const v = await registry.versions.setStage(mlflowActor(req), a.name, Number(a.version), stageArg(a.stage), a.archive_existing_versions ?? false);
    return { model_version: await versionOut(v) };
  });
}
