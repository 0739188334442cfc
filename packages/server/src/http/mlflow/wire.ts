import { CONTENT_ADDRESSED_TAG, invalid, type Stage } from '@berth/core';
import type { ModelView, VersionView } from '../../registry/results.js';
import { mlflowModelTags } from '../../registry/mlflow-prompts.js';

/**
 * Registry results in MLflow's JSON (proto field names; int64 as numbers, times in epoch
 * milliseconds as the records keep them; version as a string; empty lists omitted, as MLflow's
 * MessageToJson does).
 */

function tags(t: Record<string, string>) {
  const list = Object.entries(t).map(([key, value]) => ({ key, value }));
  return list.length ? { tags: list } : {};
}

/**
 * An external version (decision 0021) says so where MLflow's client shows it: a tag and the
 * status message; its status stays READY, as register_model waits for that.
 */
function externalMarks(v: VersionView) {
  if (v.content_addressed) return { ...tags(v.tags) };
  return {
    status_message: `external: not content-addressed, Berth holds no files of it; its bytes stay at ${v.external_uri}`,
    ...tags({ ...v.tags, [CONTENT_ADDRESSED_TAG]: 'false' }),
  };
}

export function mlflowVersion(v: VersionView): Record<string, unknown> {
  return {
    name: v.model,
    version: String(v.version),
    creation_timestamp: v.created_at,
    last_updated_timestamp: v.updated_at,
    user_id: v.created_by,
    current_stage: v.stage,
    description: v.description,
    source: v.source ?? '',
    run_id: v.run_id ?? '',
    run_link: '',
    status: v.status,
    ...externalMarks(v),
    ...(v.aliases.length ? { aliases: v.aliases } : {}),
  };
}

export function mlflowModel(m: ModelView, latest: VersionView[]): Record<string, unknown> {
  const aliases = Object.entries(m.aliases).map(([alias, version]) => ({ alias, version: String(version) }));
  return {
    name: m.name,
    creation_timestamp: m.created_at,
    last_updated_timestamp: m.updated_at,
    description: m.description,
    ...(latest.length ? { latest_versions: latest.map(mlflowVersion) } : {}),
    ...tags(mlflowModelTags(m)),
    ...(aliases.length ? { aliases } : {}),
  };
}

const STAGES: Record<string, Stage> = { none: 'None', staging: 'Staging', production: 'Production', archived: 'Archived' };

/** Stage names are case-insensitive and canonicalised, as MLflow does. */
export function stageArg(raw: string): Stage {
  const s = STAGES[raw.toLowerCase()];
  if (!s) throw invalid(`Invalid Model Version stage: ${raw}. Value must be one of None, Staging, Production, Archived.`, { field: 'stage' });
  return s;
}
