import {
  BerthError,
  invalid,
  notFound,
  parseInstant,
  parseReference,
  validateFilePath,
  validateModelName,
  validateAliasName,
  type UpdateVersionBody,
  type ManifestFile,
  type Reference,
  type Stage,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import { hasRole, requireRole, type Actor } from './actor.js';
import { refuseGuardedAliases, requireModel, requireVersion, type DeleteOptions, type RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import { Keyset } from './paging.js';
import { validateDescription, type ModelService } from './models-service.js';
import type { BlobService } from './blobs-service.js';
import type { RunService } from './runs-service.js';
import type { ArtifactService } from './artifacts-service.js';
import type { AliasService } from './aliases-service.js';
import { VersionCommitter, type CommitHooks } from './version-commit.js';
import type { ResultPage, VersionView } from './results.js';
import { validateMetadata, validateVersionTags, versionSnapshot, type UncheckedVersionCommit } from './version-fields.js';
import { refuseServerKeys } from './upload-inspection.js';

/**
 * A version route's `{version}` segment: a version number, else an alias, `latest` or a digest
 * (`sha256:…`), as after `@` in a reference.
 */
export function versionRef(name: string, ref: string): Reference {
  return parseReference(/^[0-9]+$/.test(ref) ? `${name}:${ref}` : `${name}@${ref}`);
}

export type { UncheckedVersionCommit };

export class VersionService {
  private readonly committer: VersionCommitter;

  constructor(
    private readonly deps: RegistryDeps,
    models: ModelService,
    blobs: BlobService,
    runs: RunService,
    artifacts: ArtifactService,
    private readonly aliases: AliasService,
  ) {
    this.committer = new VersionCommitter(deps, models, blobs, runs, artifacts);
  }

  /**
   * Commits a version whose blobs are all uploaded (DESIGN §2 "Blobs and uploads"), or carried
   * inline in `input.blobs` (small files). Blob presence is checked before the transaction
   * (file I/O stays out of it); the version row, its manifest, the model (when new) and the
   * audit events commit together.
   */
  async create(actor: Actor, name: string, input: UncheckedVersionCommit): Promise<VersionView> {
    return (await this.commit(actor, name, input)).version;
  }

  /** create, also saying how many bytes of the inline blobs were new to the store (undefined: none were inline); `hooks` run inside its transaction. */
  async commit(
    actor: Actor,
    name: string,
    input: UncheckedVersionCommit,
    hooks?: CommitHooks,
  ): Promise<{ version: VersionView; storedBytes: number | undefined }> {
    return this.committer.commit(actor, name, input, hooks);
  }

  /**
   * Registers a version from an MLflow-style source inside Berth's artifact store (`models:/`,
   * `runs:/`, `mlflow-artifacts:/`): the files under it become the manifest by digest.
   */
  async createFromArtifacts(
    actor: Actor,
    name: string,
    source: string,
    input: Omit<UncheckedVersionCommit, 'files' | 'source' | 'blobs'>,
  ): Promise<VersionView> {
    return this.committer.fromArtifacts(actor, name, source, input);
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

  async resolve(ref: string | Reference, opts: { files?: boolean } = {}): Promise<VersionView> {
    const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
    const tx = this.deps.store.read;
    const { model, version } = await this.resolveRecord(tx, parsed);
    const [aliases, files] = await Promise.all([tx.aliases.namesForVersion(model.id, version.version), opts.files ? tx.versions.files(version.id) : undefined]);
    return { ...version, model: model.name, aliases, ...(files ? { files } : {}) };
  }

  /**
   * The hot path: the version an alias points at (without files), one statement per miss.
   * Answers are memoised while the store's change token stays the same (SQLite: no commit
   * by this process or any other since), so a gateway polling an alias costs a map lookup.
   */
  async resolveAlias(name: string, alias: string): Promise<VersionView> {
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
    const version: VersionView = { ...r.version, model: r.model, aliases: r.aliases };
    if (token !== undefined) {
      if (this.aliasCache.size >= 10_000) this.aliasCache.clear();
      this.aliasCache.set(key, { token, version });
    }
    return version;
  }

  private readonly aliasCache = new Map<string, { token: string; version: VersionView }>();

  async get(name: string, version: number, opts: { files?: boolean } = {}): Promise<VersionView> {
    return this.resolve({ name: validateModelName(name), selector: { kind: 'version', version } }, opts);
  }

  /** Newest first; with `at`, only the versions created at or before that time (time travel: the versions a model had then). */
  async list(name: string, opts: { cursor?: string; limit?: unknown; at?: unknown }): Promise<ResultPage<VersionView>> {
    validateModelName(name);
    const createdUntil = opts.at === undefined ? undefined : parseInstant(opts.at, 'at');
    // Newest first: the page continues before the last version it showed.
    const keyset = new Keyset(opts, 'v', Number);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const [rows, aliases] = await Promise.all([
      tx.versions.list(model.id, { before: keyset.after, limit: keyset.fetch, createdUntil }),
      tx.aliases.listForModel(model.id),
    ]);
    const page = keyset.page(rows, (v) => v.version);
    const byVersion = new Map<number, string[]>();
    for (const a of aliases) byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a.alias]);
    return { items: page.items.map((v) => ({ ...v, model: model.name, aliases: byVersion.get(v.version) ?? [] })), next_cursor: page.next_cursor };
  }

  async update(actor: Actor, name: string, version: number, input: UpdateVersionBody): Promise<VersionView> {
    requireRole(actor, 'editor', 'editing a version', name);
    validateModelName(name);
    if (input.description !== undefined) validateDescription(input.description);
    if (input.metadata !== undefined) refuseServerKeys(validateMetadata(input.metadata));
    if (input.tags) validateVersionTags(input.tags);
    if (input.untag && (!Array.isArray(input.untag) || input.untag.some((k) => typeof k !== 'string')))
      throw invalid('untag must be a list of tag keys', { field: 'untag' });
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
      await recordChange(tx, actor, now, {
        action: 'version.update',
        subject: { type: 'version', model, version },
        before: { description: before.description, metadata: before.metadata, tags: before.tags },
        after: { description: after.description, metadata: after.metadata, tags: after.tags },
      });
      return { model, after };
    });
    const tx = this.deps.store.read;
    return { ...after, model: model.name, aliases: await tx.aliases.namesForVersion(model.id, version) };
  }

  /**
   * Deletion guarded as DESIGN §2 says: a version another version pins is never deleted; one
   * that aliases point at only with `force` by an admin, and its aliases go in the same
   * audited transaction; with `dropOrdinaryAliases`, ordinary aliases go with it and a
   * protected or frozen one refuses (DeleteOptions). The number is never handed out again.
   */
  async delete(actor: Actor, name: string, version: number, opts: DeleteOptions = {}): Promise<void> {
    requireRole(actor, 'editor', 'deleting a version', name);
    validateModelName(name);
    await this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      const v = await requireVersion(tx, model, version);
      const dependents = await tx.versions.dependents(model.id, version);
      if (dependents.length > 0) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `${name}:${version} cannot be deleted: ${dependents.map((d) => `${d.model}:${d.version}`).join(', ')} pin it`,
          {
            referenced_by: dependents,
          },
        );
      }
      const aliases = (await tx.aliases.listForModel(model.id)).filter((a) => a.version === version);
      const names = aliases.map((a) => a.alias);
      if (aliases.length > 0 && opts.dropOrdinaryAliases) refuseGuardedAliases(`${name}:${version}`, model, aliases);
      else if (aliases.length > 0) {
        if (!opts.force) {
          throw new BerthError(
            'FAILED_PRECONDITION',
            `${name}:${version} is what ${names.map((a) => `@${a}`).join(', ')} point(s) at: move those aliases first, or pass --force as an admin to delete them with the version`,
            {
              aliases: names,
            },
          );
        }
        if (!hasRole(actor, 'admin', name)) {
          throw new BerthError(
            'PERMISSION_DENIED',
            `${name}:${version} is what ${names.map((a) => `@${a}`).join(', ')} point(s) at: only an admin may delete it together with those aliases`,
            {
              aliases: names,
            },
          );
        }
        const frozen = aliases.filter((a) => a.frozen).map((a) => a.alias);
        if (frozen.length > 0) throw new BerthError('FAILED_PRECONDITION', `alias(es) ${frozen.join(', ')} are frozen: unfreeze them first`, { frozen });
      }
      const now = this.deps.clock.now();
      for (const a of aliases) await this.aliases.removeIn(tx, actor, now, model, a.alias, version, `version ${version} deleted`);
      await tx.versions.delete(v.id);
      await recordChange(tx, actor, now, { action: 'version.delete', subject: { type: 'version', model, version }, before: versionSnapshot(v) });
    });
  }

  /**
   * Moves a version to a legacy stage (MLflow's `transition-stage`); with `archiveOthers`,
   * every other version in a Staging or Production target goes to Archived in the same
   * transaction. Each change is audited.
   */
  async setStage(actor: Actor, name: string, version: number, stage: Stage, archiveOthers = false): Promise<VersionView> {
    requireRole(actor, 'editor', 'changing a stage', name);
    validateModelName(name);
    const { model, after } = await this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      const before = await tx.versions.lock(model.id, version);
      if (!before) throw notFound(`version ${name}:${version} not found`, { model: name, version });
      const now = this.deps.clock.now();
      const move = async (v: VersionRecord, to: Stage) => {
        const moved = await tx.versions.update(v.id, { stage: to }, now);
        await recordChange(tx, actor, now, {
          action: 'version.stage',
          subject: { type: 'version', model, version: v.version },
          before: { stage: v.stage },
          after: { stage: to },
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
    return { ...after, model: model.name, aliases: await tx.aliases.namesForVersion(model.id, version) };
  }

  /** The highest version in each stage in use, newest first (MLflow's latest versions). */
  async latestPerStage(name: string): Promise<VersionView[]> {
    validateModelName(name);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const [rows, aliases] = await Promise.all([tx.versions.latestPerStage(model.id), tx.aliases.listForModel(model.id)]);
    return rows.map((v) => ({ ...v, model: model.name, aliases: aliases.filter((a) => a.version === v.version).map((a) => a.alias) }));
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
