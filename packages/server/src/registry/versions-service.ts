import {
  BerthError,
  decodeCursor,
  encodeCursor,
  invalid,
  manifestDigest,
  manifestSize,
  normalizeManifest,
  notFound,
  pageSize,
  parseReference,
  parseSha256,
  validateFilePath,
  validateModelName,
  validateAliasName,
  validateTags,
  type Dependency,
  type CreateVersionBody,
  type ManifestFile,
  type Page,
  type Reference,
  type Version,
  type Stage,
  type UpdateVersionBody,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import { requireRole, type Actor } from './actor.js';
import { requireModel, requireVersion, type RegistryDeps } from './deps.js';
import { toWireVersion } from './wire.js';
import { validateDescription, type ModelService } from './models-service.js';
import type { BlobService } from './blobs-service.js';
import type { TrackingService } from './tracking-service.js';

/** The commit body, before validation: `files` is checked here, not trusted. */
export type UncheckedVersionCommit = Omit<CreateVersionBody, 'files'> & {
  files: unknown;
  /** Create the model on its first version (the native API) or refuse (MLflow's rule). */
  createModel?: boolean;
};

const MAX_METADATA_BYTES = 1024 * 1024;

function validateMetadata(m: unknown): Record<string, unknown> {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid('metadata must be a JSON object', { field: 'metadata' });
  if (JSON.stringify(m).length > MAX_METADATA_BYTES) throw invalid('metadata is over 1 MiB: store large data as a file in the version', { field: 'metadata' });
  return m as Record<string, unknown>;
}

function versionSnapshot(v: VersionRecord): Record<string, unknown> {
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
  };
}

export class VersionService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly models: ModelService,
    private readonly blobs: BlobService,
    private readonly tracking: TrackingService,
  ) {}

  /**
   * Commits a version whose blobs are all uploaded (DESIGN §2 "Blobs and uploads"), or carried
   * inline in `input.blobs` (small files). Blob presence is checked before the transaction
   * (file I/O stays out of it); the version row, its manifest, the model (when new) and the
   * audit events commit together.
   */
  async create(actor: Actor, name: string, input: UncheckedVersionCommit): Promise<Version> {
    return (await this.commit(actor, name, input)).version;
  }

  /** create, also saying how many bytes of the inline blobs were new to the store (undefined: none were inline). */
  async commit(actor: Actor, name: string, input: UncheckedVersionCommit): Promise<{ version: Version; storedBytes: number | undefined }> {
    return this.createChecked(actor, name, input, false);
  }

  /**
   * Registers a version from an MLflow-style source inside Berth's artifact store (`models:/`,
   * `runs:/`, `mlflow-artifacts:/`): the files under it become the manifest by digest. Each
   * of those blobs was hashed when it was written and GC keeps it while the artifact index
   * names it, so the per-blob existence check of a client-named manifest is skipped.
   */
  async createFromArtifacts(actor: Actor, name: string, source: string, input: Omit<UncheckedVersionCommit, 'files' | 'source' | 'blobs'>): Promise<Version> {
    const files = await this.tracking.snapshot(await this.tracking.artifactDirOf(source));
    if (files.length === 0) throw invalid(`No artifacts found under source ${source}: log the model's files first`, { field: 'source' });
    return (await this.createChecked(actor, name, { ...input, files, source }, true)).version;
  }

  private async createChecked(actor: Actor, name: string, input: UncheckedVersionCommit, blobsFromIndex: boolean): Promise<{ version: Version; storedBytes: number | undefined }> {
    requireRole(actor, 'editor', 'registering a version');
    validateModelName(name);
    const files = normalizeManifest(input.files);
    const metadata = validateMetadata(input.metadata ?? {});
    const tags = validateTags(input.tags ?? {});
    const description = validateDescription(input.description ?? '');
    if (input.source != null && (typeof input.source !== 'string' || input.source.length > 4096)) throw invalid('source must be a string of at most 4096 characters', { field: 'source' });
    if (input.run_id != null && (typeof input.run_id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(input.run_id))) throw invalid('run_id must be 1-64 characters of A-Z a-z 0-9 _ -', { field: 'run_id' });
    const depRefs = this.validateDependencies(input.dependencies ?? []);
    // Inline blobs are stored only once everything else is known to be valid.
    const inline = input.blobs === undefined ? undefined : await this.blobs.putInline(actor, input.blobs, files);
    if (!blobsFromIndex) await this.checkBlobs(inline ? files.filter((f) => !inline.present.has(f.sha256)) : files);
    const digest = manifestDigest(files);
    const size = manifestSize(files);

    const commit = () => this.deps.store.transaction(async (tx) => {
      const now = this.deps.clock.now();
      let model = await tx.models.findByName(name);
      if (!model && input.createModel === false) throw notFound(`Registered Model with name=${name} not found`, { model: name });
      if (!model) model = await this.models.createIn(tx, actor, { name, kind: input.kind ?? 'model' });
      else if (input.kind !== undefined && input.kind !== model.kind) {
        throw invalid(`model ${name} is of kind ${model.kind}, not ${input.kind}`, { field: 'kind' });
      }
      if (input.run_id && !(await tx.runs.find(input.run_id))) {
        // A run named only by id (a training job outside Berth): record it, so lineage has a node.
        await tx.runs.insert({ id: input.run_id, experiment: 'Default', name: null, status: 'FINISHED', params: {}, tags: {}, datasets: [], created_by: actor.name, created_at: now, updated_at: now });
        await tx.audit.append({ at: now, actor: actor.name, action: 'run.create', model_id: null, model: null, subject_type: 'run', subject: input.run_id, before: null, after: { experiment: 'Default', registered_with: `${name}` }, reason: null });
      }
      const pinned = await this.resolveDependencies(tx, depRefs);
      const number = await tx.models.nextVersion(model.id);
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
          source: input.source ?? null,
          run_id: input.run_id ?? null,
          dependencies: pinned.map((d) => ({ model: d.model, version: d.version, digest: d.digest })),
          created_by: actor.name,
          created_at: now,
          updated_at: now,
        },
        files,
      );
      await tx.versions.insertDependencies(v.id, pinned);
      if (input.upload_id) await tx.uploads.close(input.upload_id);
      await tx.audit.append({
        at: now,
        actor: actor.name,
        action: 'version.create',
        model_id: model.id,
        model: model.name,
        subject_type: 'version',
        subject: `${model.name}:${number}`,
        before: null,
        after: versionSnapshot(v),
        reason: null,
      });
      return { model, version: v };
    });
    let result: Awaited<ReturnType<typeof commit>>;
    try {
      result = await commit();
    } catch (err) {
      // Two first pushes of a new model raced (PostgreSQL): the model exists now; commit again.
      if (!(err instanceof BerthError && err.code === 'ALREADY_EXISTS')) throw err;
      result = await commit();
    }
    return { version: toWireVersion(result.model.name, result.version, [], files), storedBytes: inline?.storedBytes };
  }

  private validateDependencies(deps: unknown): Dependency[] {
    if (!Array.isArray(deps)) throw invalid('dependencies must be a list of {model, version, digest}', { field: 'dependencies' });
    return deps.map((d) => {
      const { model, version, digest } = (d ?? {}) as Record<string, unknown>;
      validateModelName(model);
      if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw invalid('a dependency pins a version number', { field: 'dependencies' });
      return { model: model as string, version, digest: `sha256:${parseSha256(digest, 'dependency digest')}` };
    });
  }

  private async resolveDependencies(tx: StoreTx, deps: Dependency[]): Promise<(Dependency & { model_id: number })[]> {
    const out: (Dependency & { model_id: number })[] = [];
    for (const d of deps) {
      const m = await requireModel(tx, d.model);
      const v = await requireVersion(tx, m, d.version);
      if (v.digest !== d.digest) {
        throw invalid(`dependency ${d.model}:${d.version} has digest ${v.digest}, not ${d.digest}`, { field: 'dependencies', dependency: d });
      }
      out.push({ ...d, model_id: m.id });
    }
    return out;
  }

  /** Every blob must be stored, with the declared size; else nothing is created. */
  private async checkBlobs(files: readonly ManifestFile[]): Promise<void> {
    const sizes = new Map<string, number>();
    for (const f of files) sizes.set(f.sha256, f.size);
    const missing: string[] = [];
    const entries = [...sizes];
    const CONCURRENCY = 16;
    for (let i = 0; i < entries.length; i += CONCURRENCY) {
      await Promise.all(
        entries.slice(i, i + CONCURRENCY).map(async ([sha, size]) => {
          const info = await this.deps.blobs.stat(sha);
          if (!info) missing.push(sha);
          else if (info.size !== size) {
            const path = files.find((f) => f.sha256 === sha)?.path;
            throw invalid(`file ${JSON.stringify(path)} declares size ${size} but blob ${sha} has ${info.size} bytes`, { field: 'size', path });
          }
        }),
      );
    }
    if (missing.length > 0) {
      throw new BerthError('FAILED_PRECONDITION', `${missing.length} blob(s) are not uploaded yet: upload them with PUT /api/v1/blobs/<sha256>, then commit again`, {
        missing: missing.sort(),
      });
    }
  }

  async resolveRecord(tx: StoreTx, ref: Reference): Promise<{ model: ModelRecord; version: VersionRecord }> {
    const model = await requireModel(tx, ref.name);
    const sel = ref.selector;
    let v: VersionRecord | undefined;
    switch (sel.kind) {
      case 'latest':
        v = await tx.versions.findLatest(model.id);
        if (!v) throw notFound(`model ${model.name} has no versions yet: push one with \`berth push <dir> --model ${model.name}\``, { model: model.name });
        break;
      case 'version':
        v = await requireVersion(tx, model, sel.version);
        break;
      case 'digest':
        v = await tx.versions.findByDigest(model.id, sel.digest);
        if (!v) throw notFound(`no version of ${model.name} has digest ${sel.digest}`, { model: model.name, digest: sel.digest });
        break;
      case 'alias': {
        const a = await tx.aliases.find(model.id, sel.alias);
        if (!a) throw notFound(`alias ${model.name}@${sel.alias} is not set: see \`berth alias ls ${model.name}\``, { model: model.name, alias: sel.alias });
        v = await requireVersion(tx, model, a.version);
        break;
      }
    }
    return { model, version: v };
  }

  async resolve(ref: string | Reference, opts: { files?: boolean } = {}): Promise<Version> {
    const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
    const tx = this.deps.store.read;
    const { model, version } = await this.resolveRecord(tx, parsed);
    const [aliases, files] = await Promise.all([tx.aliases.namesForVersion(model.id, version.version), opts.files ? tx.versions.files(version.id) : undefined]);
    return toWireVersion(model.name, version, aliases, files);
  }

  /**
   * The hot path: the version an alias points at (without files), one statement per miss.
   * Answers are memoised while the store's change token stays the same (SQLite: no commit
   * by this process or any other since), so a gateway polling an alias costs a map lookup.
   */
  async resolveAlias(name: string, alias: string): Promise<Version> {
    const key = `${name}\u0000${alias}`;
    const token = this.deps.store.changeToken();
    if (token !== undefined) {
      const hit = this.aliasCache.get(key);
      if (hit && hit.token === token) return hit.version;
    }
    validateModelName(name);
    validateAliasName(alias);
    const r = await this.deps.store.hot.resolveAlias(name, alias);
    if (!r) {
      // Say precisely what is missing: the model, or the alias.
      await requireModel(this.deps.store.read, name);
      throw notFound(`alias ${name}@${alias} is not set: see \`berth alias ls ${name}\``, { model: name, alias });
    }
    const version = toWireVersion(r.model, r.version, r.aliases);
    if (token !== undefined) {
      if (this.aliasCache.size >= 10_000) this.aliasCache.clear();
      this.aliasCache.set(key, { token, version });
    }
    return version;
  }

  private readonly aliasCache = new Map<string, { token: string; version: Version }>();

  async get(name: string, version: number, opts: { files?: boolean } = {}): Promise<Version> {
    return this.resolve({ name: validateModelName(name), selector: { kind: 'version', version } }, opts);
  }

  async list(name: string, opts: { cursor?: string; limit?: unknown }): Promise<Page<Version>> {
    validateModelName(name);
    const limit = pageSize(opts.limit);
    const before = opts.cursor ? Number(decodeCursor(opts.cursor, ['v']).v) : undefined;
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const [rows, aliases] = await Promise.all([tx.versions.list(model.id, { before, limit: limit + 1 }), tx.aliases.listForModel(model.id)]);
    const page = rows.slice(0, limit);
    const byVersion = new Map<number, string[]>();
    for (const a of aliases) byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a.alias]);
    return {
      items: page.map((v) => toWireVersion(model.name, v, byVersion.get(v.version) ?? [])),
      next_cursor: rows.length > limit ? encodeCursor({ v: page[page.length - 1].version }) : null,
    };
  }

  async update(actor: Actor, name: string, version: number, input: UpdateVersionBody): Promise<Version> {
    requireRole(actor, 'editor', 'editing a version');
    validateModelName(name);
    if (input.description !== undefined) validateDescription(input.description);
    if (input.metadata !== undefined) validateMetadata(input.metadata);
    if (input.tags) validateTags(input.tags);
    if (input.untag && (!Array.isArray(input.untag) || input.untag.some((k) => typeof k !== 'string'))) throw invalid('untag must be a list of tag keys', { field: 'untag' });
    const { model, after } = await this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      const before = await tx.versions.lock(model.id, version);
      if (!before) throw notFound(`version ${name}:${version} not found: list versions with \`berth ls ${name}\``, { model: name, version });
      const patch: { description?: string; metadata?: Record<string, unknown>; tags?: Record<string, string> } = {};
      if (input.description !== undefined) patch.description = input.description;
      if (input.metadata !== undefined) {
        const md = { ...before.metadata };
        for (const [k, v] of Object.entries(input.metadata)) {
          if (v === null) delete md[k];
          else md[k] = v;
        }
        patch.metadata = validateMetadata(md);
      }
      if (input.tags || input.untag) {
        const tags = { ...before.tags, ...(input.tags ?? {}) };
        for (const k of input.untag ?? []) delete tags[k];
        patch.tags = tags;
      }
      const now = this.deps.clock.now();
      const after = await tx.versions.update(before.id, patch, now);
      await tx.audit.append({
        at: now,
        actor: actor.name,
        action: 'version.update',
        model_id: model.id,
        model: model.name,
        subject_type: 'version',
        subject: `${model.name}:${version}`,
        before: { description: before.description, metadata: before.metadata, tags: before.tags },
        after: { description: after.description, metadata: after.metadata, tags: after.tags },
        reason: null,
      });
      return { model, after };
    });
    const tx = this.deps.store.read;
    return toWireVersion(model.name, after, await tx.aliases.namesForVersion(model.id, version));
  }

  /**
   * Deletion guarded as DESIGN §2 says: a version another version pins is never deleted; one
   * that aliases point at only with `force` by an admin, and its aliases go in the same
   * audited transaction. The number is never handed out again.
   */
  async delete(actor: Actor, name: string, version: number, opts: { force?: boolean } = {}): Promise<void> {
    requireRole(actor, 'editor', 'deleting a version');
    validateModelName(name);
    await this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      const v = await requireVersion(tx, model, version);
      const dependents = await tx.versions.dependents(model.id, version);
      if (dependents.length > 0) {
        throw new BerthError('FAILED_PRECONDITION', `${name}:${version} cannot be deleted: ${dependents.map((d) => `${d.model}:${d.version}`).join(', ')} pin it`, {
          referenced_by: dependents,
        });
      }
      const aliases = (await tx.aliases.listForModel(model.id)).filter((a) => a.version === version);
      const names = aliases.map((a) => a.alias);
      if (aliases.length > 0) {
        if (!opts.force) {
          throw new BerthError('FAILED_PRECONDITION', `${name}:${version} is what ${names.map((a) => `@${a}`).join(', ')} point(s) at: move those aliases first, or pass --force as an admin to delete them with the version`, {
            aliases: names,
          });
        }
        if (!actor.roles.has('admin')) {
          throw new BerthError('PERMISSION_DENIED', `${name}:${version} is what ${names.map((a) => `@${a}`).join(', ')} point(s) at: only an admin may delete it together with those aliases`, {
            aliases: names,
          });
        }
        const frozen = aliases.filter((a) => a.frozen).map((a) => a.alias);
        if (frozen.length > 0) throw new BerthError('FAILED_PRECONDITION', `alias(es) ${frozen.join(', ')} are frozen: unfreeze them first`, { frozen });
      }
      const now = this.deps.clock.now();
      for (const a of aliases) {
        const reason = `version ${version} deleted`;
        if (!(await tx.aliases.compareAndDelete(model.id, a.alias, version))) {
          throw new BerthError('CONFLICT', `alias ${a.alias} moved while deleting; try again`, { alias: a.alias });
        }
        const e = await tx.audit.append({ at: now, actor: actor.name, action: 'alias.delete', model_id: model.id, model: model.name, subject_type: 'alias', subject: `${model.name}@${a.alias}`, before: { version }, after: null, reason });
        await tx.aliases.appendHistory({ seq: e.seq, model_id: model.id, alias: a.alias, action: 'alias.delete', from_version: version, to_version: null, actor: actor.name, at: now, reason });
      }
      await tx.versions.delete(v.id);
      await tx.audit.append({
        at: now,
        actor: actor.name,
        action: 'version.delete',
        model_id: model.id,
        model: model.name,
        subject_type: 'version',
        subject: `${model.name}:${version}`,
        before: versionSnapshot(v),
        after: null,
        reason: null,
      });
    });
  }

  /**
   * Moves a version to a legacy stage (MLflow's `transition-stage`); with `archiveOthers`,
   * every other version in a Staging or Production target goes to Archived in the same
   * transaction. Each change is audited.
   */
  async setStage(actor: Actor, name: string, version: number, stage: Stage, archiveOthers = false): Promise<Version> {
    requireRole(actor, 'editor', 'changing a stage');
    validateModelName(name);
    const { model, after } = await this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      const before = await tx.versions.lock(model.id, version);
      if (!before) throw notFound(`version ${name}:${version} not found`, { model: name, version });
      const now = this.deps.clock.now();
      const move = async (v: VersionRecord, to: Stage) => {
        const moved = await tx.versions.update(v.id, { stage: to }, now);
        await tx.audit.append({
          at: now,
          actor: actor.name,
          action: 'version.stage',
          model_id: model.id,
          model: model.name,
          subject_type: 'version',
          subject: `${model.name}:${v.version}`,
          before: { stage: v.stage },
          after: { stage: to },
          reason: null,
        });
        return moved;
      };
      if (archiveOthers && (stage === 'Staging' || stage === 'Production')) {
        for (const other of await tx.versions.inStage(model.id, stage, version)) await move(other, 'Archived');
      }
      const after = before.stage === stage ? before : await move(before, stage);
      return { model, after };
    });
    const tx = this.deps.store.read;
    return toWireVersion(model.name, after, await tx.aliases.namesForVersion(model.id, version));
  }

  /** The highest version in each stage in use, newest first (MLflow's latest versions). */
  async latestPerStage(name: string): Promise<Version[]> {
    validateModelName(name);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const [rows, aliases] = await Promise.all([tx.versions.latestPerStage(model.id), tx.aliases.listForModel(model.id)]);
    return rows.map((v) => toWireVersion(model.name, v, aliases.filter((a) => a.version === v.version).map((a) => a.alias)));
  }

  /** The files of whichever version has this manifest digest (content-addressed, immutable). */
  async filesByDigest(digest: string): Promise<ManifestFile[]> {
    const tx = this.deps.store.read;
    const v = await tx.versions.findAnyByDigest(digest);
    if (!v) throw notFound(`no version has digest ${digest}`, { digest });
    return tx.versions.files(v.id);
  }

  /** One file of a version's manifest (its bytes are then opened by sha256). */
  async getFile(name: string, version: number, path: string): Promise<ManifestFile> {
    validateModelName(name);
    validateFilePath(path);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const v = await requireVersion(tx, model, version);
    const file = await tx.versions.file(v.id, path);
    if (!file) throw notFound(`${name}:${version} has no file ${JSON.stringify(path)}`, { path });
    return file;
  }
}
