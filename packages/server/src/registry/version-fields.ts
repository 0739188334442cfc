import {
  CONTENT_ADDRESSED_TAG,
  MAX_METADATA_BYTES,
  checkJsonDepth,
  invalid,
  manifestDigest,
  manifestSize,
  normalizeManifest,
  parseSha256,
  parseUpstream,
  validateModelName,
  validateTags,
  type CreateVersionBody,
  type Dependency,
  type ManifestFile,
} from '@berth/core';
import type { VersionRecord } from '../store/versions.js';
import { validateDescription } from './models-service.js';
import { checkRunId } from './runs-service.js';

/** The commit body, before validation: `files` is checked here, not trusted. */
export type UncheckedVersionCommit = Omit<CreateVersionBody, 'files'> & {
  files: unknown;
  /** Create the model on its first version (the native API) or refuse (MLflow's rule). */
  createModel?: boolean;
};

const MAX_SOURCE = 4096;

export function validateMetadata(m: unknown): Record<string, unknown> {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid('metadata must be a JSON object', { field: 'metadata' });
  checkJsonDepth(m, 'metadata', 'metadata');
  if (JSON.stringify(m).length > MAX_METADATA_BYTES) throw invalid('metadata is over 1 MiB: store large data as a file in the version', { field: 'metadata' });
  // An upstream names the weights' origin at a commit (decision 0017): a branch would move.
  if ('upstream' in m) parseUpstream((m as Record<string, unknown>).upstream);
  return m as Record<string, unknown>;
}

function validateDependencies(deps: unknown): Dependency[] {
  if (!Array.isArray(deps)) throw invalid('dependencies must be a list of {model, version, digest}', { field: 'dependencies' });
  return deps.map((d) => {
    const { model, version, digest } = (d ?? {}) as Record<string, unknown>;
    validateModelName(model);
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
      throw invalid('a dependency pins a version number', { field: 'dependencies' });
    return { model: model as string, version, digest: `sha256:${parseSha256(digest, 'dependency digest')}` };
  });
}

/** A version's fields once checked: what the version row and its manifest are made of. */
export type CheckedVersion = Pick<
  VersionRecord,
  'digest' | 'size' | 'metadata' | 'tags' | 'description' | 'source' | 'run_id' | 'dependencies' | 'external_uri'
> & {
  files: ManifestFile[];
};

/** Checks every field of a version to create, without I/O: nothing is stored for a body refused here. */
export function checkVersionInput(input: UncheckedVersionCommit): CheckedVersion {
  const files = normalizeManifest(input.files);
  const metadata = validateMetadata(input.metadata ?? {});
  const tags = validateVersionTags(input.tags ?? {});
  const description = validateDescription(input.description ?? '');
  if (input.source != null && (typeof input.source !== 'string' || input.source.length > MAX_SOURCE)) {
    throw invalid(`source must be a string of at most ${MAX_SOURCE} characters`, { field: 'source' });
  }
  const runId = input.run_id == null ? null : checkRunId(input.run_id);
  const dependencies = validateDependencies(input.dependencies ?? []);
  return {
    files,
    digest: manifestDigest(files),
    size: manifestSize(files),
    metadata,
    tags,
    description,
    source: input.source ?? null,
    run_id: runId,
    dependencies,
    external_uri: null,
  };
}

/** A version's tags; the server's own tag saying a version is not content-addressed (decision 0021) is refused. */
export function validateVersionTags(tags: Parameters<typeof validateTags>[0]): Record<string, string> {
  const checked = validateTags(tags);
  if (CONTENT_ADDRESSED_TAG in checked) {
    throw invalid(`tag ${CONTENT_ADDRESSED_TAG} is set by the server on external versions and cannot be set by hand`, { field: 'tags' });
  }
  return checked;
}

/** What the audit trail keeps of a version when it is created or deleted. */
export function versionSnapshot(v: VersionRecord): Record<string, unknown> {
  return {
    version: v.version,
    digest: v.digest,
    size: v.size,
    file_count: v.file_count,
    description: v.description,
    metadata: v.metadata,
    tags: v.tags,
    source: v.source,
    run_id: v.run_id,
    dependencies: v.dependencies,
    stage: v.stage,
    ...(v.external_uri === null ? {} : { external_uri: v.external_uri }),
  };
}
