import {
  BerthError,
  checkAdapterConfig,
  checkExternalUri,
  invalid,
  isExternalSource,
  notContentAddressed,
  notFound,
  parseUpstream,
  validateModelName,
  type BlobInspection,
  type Dependency,
  type ManifestFile,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import { requireRole, type Actor } from './actor.js';
import { requireModel, requireVersion, type RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import type { VersionView } from './results.js';
import { checkVersionInput, versionSnapshot, type CheckedVersion } from './version-fields.js';
import type { ModelService } from './models-service.js';
import type { BlobService } from './blobs-service.js';
import type { RunService } from './runs-service.js';
import type { ArtifactService } from './artifacts-service.js';
import type { UncheckedVersionCommit } from './version-fields.js';
import { checkPins, type CheckedPin } from './pin-rules.js';
import { refuseUnsafePickles, withInspections } from './upload-inspection.js';
import { promptFacts } from './prompt-rules.js';
import { withRagConfig } from './rag-rules.js';

/** Largest adapter_config.json read at commit: PEFT's are a few hundred bytes. */
const MAX_ADAPTER_CONFIG_BYTES = 1024 * 1024;

/** Runs `commit` again once when it failed with ALREADY_EXISTS. */
async function retryOnceIfRaced<T>(commit: () => Promise<T>): Promise<T> {
  try {
    return await commit();
  } catch (err) {
    // Two first pushes of a new model raced (PostgreSQL): the model exists now; commit again.
    if (!(err instanceof BerthError && err.code === 'ALREADY_EXISTS')) throw err;
    return commit();
  }
}

/**
 * Rules a front adds inside the commit's transaction: `locked` runs once the model's version
 * counter is taken (concurrent commits of the model are ordered from there on), `inserted` after
 * the version is written. Either may throw, and then nothing of the commit is kept.
 */
export interface CommitHooks {
  locked?(tx: StoreTx, model: ModelRecord): Promise<void>;
  inserted?(tx: StoreTx, model: ModelRecord, version: VersionRecord, now: number): Promise<void>;
}

/**
 * Creating a version, in the order that keeps I/O out of the transaction: check every field,
 * store the inline blobs, check the other blobs are stored, then one transaction writes the
 * model (when new), the run (when only named), the version, its manifest and their audit events.
 */
export class VersionCommitter {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly models: ModelService,
    private readonly blobs: BlobService,
    private readonly runs: RunService,
    private readonly artifacts: ArtifactService,
  ) {}

  /** A version whose blobs are uploaded or inline; also says how many inline bytes were new to the store (undefined: none were inline). */
  async commit(
    actor: Actor,
    name: string,
    input: UncheckedVersionCommit,
    hooks?: CommitHooks,
  ): Promise<{ version: VersionView; storedBytes: number | undefined }> {
    if (input.external_uri != null) return { version: await this.external(actor, name, input.external_uri, input), storedBytes: undefined };
    requireRole(actor, 'editor', 'registering a version', name);
    validateModelName(name);
    const checked = checkVersionInput(input);
    const found = new Map<string, BlobInspection>();
    // The files' inspections are looked at (and a refused pickle refused) before any inline blob is stored.
    const vet = async (inline: ReadonlyMap<string, BlobInspection>) => {
      for (const [sha, i] of await this.inspectionsOf(checked.files)) found.set(sha, i);
      for (const [sha, i] of inline) found.set(sha, i);
      refuseUnsafePickles(this.deps, checked.files, found);
    };
    // Inline blobs are stored only once everything else is known to be valid.
    const inline = input.blobs === undefined ? undefined : await this.blobs.putInline(actor, input.blobs, checked.files, vet);
    if (!inline) await vet(new Map());
    await this.blobs.requireStored(inline ? checked.files.filter((f) => !inline.present.has(f.sha256)) : checked.files);
    checked.metadata = { ...checked.metadata, ...(await promptFacts(this.deps, name, input.kind, checked.files)) };
    const metadata = await this.withAdapterFacts(name, input.kind, checked, withInspections(checked.metadata, checked.files, found));
    return {
      version: await this.register(actor, name, input, await withRagConfig(this.deps, name, input.kind, { ...checked, metadata }), hooks),
      storedBytes: inline?.storedBytes,
    };
  }

  /**
   * An adapter's `adapter_config.json` (PEFT) must not name another base than the one it pins
   * (core's checkAdapterConfig, decision 0017), whichever front committed it; what it says of
   * the adapter becomes `metadata.peft`. Read before the transaction: blobs and the pinned base
   * (immutable by digest) are outside it.
   */
  private async withAdapterFacts(name: string, kind: string | undefined, checked: CheckedVersion, metadata: Record<string, unknown>) {
    const file = checked.files.find((f) => f.path === 'adapter_config.json');
    const [pin, ...more] = checked.dependencies;
    if (!file || !pin || more.length > 0) return metadata;
    const read = this.deps.store.read;
    if (((await read.models.findByName(name))?.kind ?? kind) !== 'adapter') return metadata;
    if (file.size > MAX_ADAPTER_CONFIG_BYTES)
      throw invalid(`adapter_config.json is ${file.size} bytes: PEFT's is a small JSON object`, { field: 'adapter_config' });
    const chunks: Buffer[] = [];
    for await (const c of (await this.deps.blobs.open(file.sha256)).stream) chunks.push(Buffer.from(c as Uint8Array));
    let config: unknown;
    try {
      config = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      throw invalid(`adapter_config.json is not JSON: ${(err as Error).message}`, { field: 'adapter_config' });
    }
    const base = await requireVersion(read, await requireModel(read, pin.model), pin.version);
    const upstream = typeof base.metadata.upstream === 'string' ? parseUpstream(base.metadata.upstream) : undefined;
    const peft = checkAdapterConfig(config, { ref: `${pin.model}:${pin.version}`, model: pin.model, ...(upstream ? { upstream } : {}) });
    return { ...metadata, peft };
  }

  private inspectionsOf(files: readonly ManifestFile[]): Promise<Map<string, BlobInspection>> {
    return this.deps.store.read.blobInspections.findMany([...new Set(files.map((f) => f.sha256))]);
  }

  /**
   * A version from an MLflow-style source inside Berth's artifact store: the files under it
   * become the manifest by digest. Each of those blobs was hashed when it was written and GC
   * keeps it while the artifact index names it, so the per-blob existence check is skipped.
   */
  async fromArtifacts(actor: Actor, name: string, source: string, input: Omit<UncheckedVersionCommit, 'files' | 'source' | 'blobs'>): Promise<VersionView> {
    if (isExternalSource(source)) return this.external(actor, name, source, { ...input, files: [], source });
    const files = await this.artifacts.snapshot(await this.artifacts.dirOf(source));
    if (files.length === 0) throw invalid(`No artifacts found under source ${source}: log the model's files first`, { field: 'source' });
    requireRole(actor, 'editor', 'registering a version', name);
    validateModelName(name);
    const full: UncheckedVersionCommit = { ...input, files, source };
    const checked = checkVersionInput(full);
    const found = await this.inspectionsOf(checked.files);
    refuseUnsafePickles(this.deps, checked.files, found);
    checked.metadata = { ...checked.metadata, ...(await promptFacts(this.deps, name, input.kind, checked.files)) };
    return this.register(
      actor,
      name,
      full,
      await withRagConfig(this.deps, name, input.kind, { ...checked, metadata: withInspections(checked.metadata, checked.files, found) }),
    );
  }

  /**
   * An external version (decision 0021): Berth reads no object store, so a source there is
   * recorded, not copied. It holds no files and pins nothing; its digest is the empty
   * manifest's and names no content, and `content_addressed` says so in every answer.
   */
  private async external(actor: Actor, name: string, uri: unknown, input: UncheckedVersionCommit): Promise<VersionView> {
    requireRole(actor, 'editor', 'registering a version', name);
    validateModelName(name);
    const external_uri = checkExternalUri(uri);
    const extra = (['blobs', 'upload_id', 'dependencies'] as const).find((k) => input[k] != null && !(Array.isArray(input[k]) && input[k].length === 0));
    if (!Array.isArray(input.files) || input.files.length > 0 || extra) {
      throw invalid(`an external version holds no files and pins nothing: leave files empty and ${extra ?? 'blobs, upload_id and dependencies'} out`, {
        field: extra ?? 'files',
      });
    }
    const checked = checkVersionInput({ ...input, source: input.source ?? external_uri });
    return this.register(actor, name, input, { ...checked, external_uri });
  }

  private async register(actor: Actor, name: string, input: UncheckedVersionCommit, checked: CheckedVersion, hooks?: CommitHooks): Promise<VersionView> {
    const { model, version } = await retryOnceIfRaced(() => this.deps.store.transaction((tx) => this.insertIn(tx, actor, name, input, checked, hooks)));
    return { ...version, model: model.name, aliases: [], files: checked.files };
  }

  private async insertIn(
    tx: StoreTx,
    actor: Actor,
    name: string,
    input: UncheckedVersionCommit,
    checked: CheckedVersion,
    hooks?: CommitHooks,
  ): Promise<{ model: ModelRecord; version: VersionRecord }> {
    const now = this.deps.clock.now();
    const model = await this.modelFor(tx, actor, name, input);
    if (checked.external_uri !== null && model.kind !== 'model') {
      throw invalid(`${name} is of kind ${model.kind}: only a model of kind model takes an external version, whose files Berth cannot read or check`, {
        field: 'external_uri',
      });
    }
    if (checked.run_id) await this.runs.ensureIn(tx, actor, now, checked.run_id, name);
    const pinned = await this.pin(tx, checked.dependencies);
    checkPins(name, model.kind, pinned);
    const number = await tx.models.nextVersion(model.id);
    await hooks?.locked?.(tx, model);
    const { files, digest, size, metadata, tags, description, source, run_id, external_uri } = checked;
    const dependencies = pinned.map((d) => ({ model: d.model, version: d.version, digest: d.digest }));
    const v = await tx.versions.insert(
      {
        model_id: model.id,
        version: number,
        digest,
        status: 'READY',
        stage: 'None',
        size,
        file_count: files.length,
        metadata,
        tags,
        description,
        source,
        run_id,
        dependencies,
        external_uri,
        created_by: actor.name,
        created_at: now,
        updated_at: now,
      },
      files,
    );
    await tx.versions.insertDependencies(v.id, pinned);
    if (input.upload_id) await tx.uploads.close(input.upload_id);
    await recordChange(tx, actor, now, { action: 'version.create', subject: { type: 'version', model, version: number }, after: versionSnapshot(v) });
    await hooks?.inserted?.(tx, model, v, now);
    return { model, version: v };
  }

  /** The model to add the version to: created on its first version unless the caller refuses that (MLflow's rule). */
  private async modelFor(tx: StoreTx, actor: Actor, name: string, input: UncheckedVersionCommit): Promise<ModelRecord> {
    const model = await tx.models.findByName(name);
    if (!model) {
      if (input.createModel === false) throw notFound(`Registered Model with name=${name} not found`, { model: name });
      return this.models.createIn(tx, actor, { name, kind: input.kind ?? 'model' });
    }
    if (input.kind !== undefined && input.kind !== model.kind) throw invalid(`model ${name} is of kind ${model.kind}, not ${input.kind}`, { field: 'kind' });
    return model;
  }

  /** Each dependency must exist with the digest it is pinned by. */
  private async pin(tx: StoreTx, deps: Dependency[]): Promise<CheckedPin[]> {
    const out: CheckedPin[] = [];
    for (const d of deps) {
      const m = await requireModel(tx, d.model);
      const v = await requireVersion(tx, m, d.version);
      if (!v.content_addressed) throw notContentAddressed(`${d.model}:${d.version}`, v.external_uri ?? '', 'nothing can pin it by digest');
      if (v.digest !== d.digest) {
        throw invalid(`dependency ${d.model}:${d.version} has digest ${v.digest}, not ${d.digest}`, { field: 'dependencies', dependency: d });
      }
      out.push({ ...d, model_id: m.id, kind: m.kind, pins: v.dependencies });
    }
    return out;
  }
}
