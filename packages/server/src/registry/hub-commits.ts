import { createHash } from 'node:crypto';
import {
  applyHubChanges,
  BerthError,
  commitIdOf,
  gitBlobOid,
  INLINE_BLOB_MAX_BYTES,
  invalid,
  isCommitId,
  notFound,
  parseHubCommit,
  validateFilePath,
  validateModelName,
  type HubChange,
  type ManifestFile,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import type { AliasService } from './aliases-service.js';
import type { BlobService } from './blobs-service.js';
import type { ModelService } from './models-service.js';
import type { VersionService } from './versions-service.js';
import { latestServable, type HubMissing } from './hub-service.js';

/** How long an LFS upload link stays valid: long enough for a slow upload of a large file, short enough that a leaked link soon stops working. */
export const HUB_UPLOAD_TTL_MS = 3600 * 1000;

export interface PreuploadAnswer {
  path: string;
  uploadMode: 'lfs' | 'regular';
  shouldIgnore: false;
  oid?: string;
}

export interface LfsBatchObject {
  oid: string;
  size: number;
  /** Absent: the store has the object, the client uploads nothing. */
  upload?: string;
}

/** Where a commit lands: the branch head it builds on, and the alias that moves to the new version (none: `main` is the latest version). */
interface Branch {
  model: ModelRecord;
  head: VersionRecord | undefined;
  alias: string | undefined;
}

/**
 * The Hub's write side on the registry (docs/decisions/0020): a repo is created as a model, LFS
 * objects are uploaded under an upload session, and a commit becomes a version made of the
 * branch head's files with the commit's operations applied, through the ordinary version commit
 * (roles, checks, audit, events). A branch is `main` (the latest version, or the alias `main`
 * when set) or an alias, which moves to the new version in the same transaction.
 */
export class HubCommits {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly models: ModelService,
    private readonly versions: VersionService,
    private readonly blobs: BlobService,
    private readonly aliases: AliasService,
  ) {}

  /** A new, empty repo; ALREADY_EXISTS (409, which `exist_ok` accepts) when the model exists. */
  async createRepo(actor: Actor, repo: string): Promise<void> {
    await this.models.create(actor, { name: validateModelName(repo) });
  }

  private async requireRepo(tx: StoreTx, repo: string): Promise<ModelRecord> {
    validateModelName(repo);
    const m = await tx.models.findByName(repo);
    if (!m) throw notFound(`repository ${repo} not found: create it first (create_repo)`, { model: repo, missing: 'repo' satisfies HubMissing });
    return m;
  }

  private async branch(tx: StoreTx, model: ModelRecord, revision: string): Promise<Branch> {
    const alias = await tx.aliases.find(model.id, revision);
    if (alias) return { model, head: await tx.versions.find(model.id, alias.version), alias: revision };
    if (revision === 'main') return { model, head: await latestServable(tx, model), alias: undefined };
    throw notFound(
      `branch ${JSON.stringify(revision)} of ${model.name} not found: commit to main or to an alias (\`berth alias ls ${model.name}\`)${isCommitId(revision) ? '; a commit id is not a branch' : ''}`,
      { model: model.name, revision, missing: 'revision' satisfies HubMissing },
    );
  }

  private async headFiles(head: VersionRecord | undefined): Promise<ManifestFile[]> {
    return head ? this.deps.store.read.versions.files(head.id) : [];
  }

  /** Every non-empty file is LFS (decision 0020); `oid` is what the file at `revision` has, so an unchanged file is left out by the client. */
  async preupload(actor: Actor, repo: string, revision: string, files: unknown): Promise<PreuploadAnswer[]> {
    requireRole(actor, 'editor', 'uploading', repo);
    if (!Array.isArray(files)) throw invalid('preupload needs `files`: a list of {path, size}', { field: 'files' });
    const asked = files.map((f) => {
      const { path, size } = (f ?? {}) as Record<string, unknown>;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
        throw invalid(`file ${JSON.stringify(path)}: size must be a non-negative integer`, { field: 'size' });
      return { path: validateFilePath(path), size };
    });
    const tx = this.deps.store.read;
    const b = await this.branch(tx, await this.requireRepo(tx, repo), revision);
    const current = new Map((await this.headFiles(b.head)).map((f) => [f.path, f]));
    return asked.map(({ path, size }) => {
      const now = current.get(path);
      const oid = now === undefined ? undefined : now.size === 0 ? gitBlobOid('') : now.sha256;
      return { path, uploadMode: size === 0 ? 'regular' : 'lfs', shouldIgnore: false, ...(oid ? { oid } : {}) };
    });
  }

  /**
   * The LFS batch API: objects the store lacks get an upload session listing them, whose id
   * makes the upload links; objects it has get none. Only an editor of the repo gets links.
   */
  async lfsBatch(actor: Actor, repo: string, objects: unknown): Promise<{ session: string | undefined; objects: LfsBatchObject[] }> {
    requireRole(actor, 'editor', 'uploading', repo);
    if (!Array.isArray(objects) || objects.length === 0) throw invalid('the batch needs `objects`: a list of {oid, size}', { field: 'objects' });
    const asked = objects.map((o) => {
      const { oid, size } = (o ?? {}) as Record<string, unknown>;
      if (typeof oid !== 'string' || !/^[0-9a-f]{64}$/.test(oid))
        throw invalid(`object ${JSON.stringify(oid)}: oid must be a sha256 (64 lowercase hex)`, { field: 'oid' });
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
        throw invalid(`object ${oid}: size must be a non-negative integer`, { field: 'size' });
      return { oid, size };
    });
    const sizes = new Map<string, number>();
    for (const o of asked) {
      if ((sizes.get(o.oid) ?? o.size) !== o.size) throw invalid(`object ${o.oid} is listed twice with different sizes`, { field: 'size', oid: o.oid });
      sizes.set(o.oid, o.size);
    }
    await this.requireRepo(this.deps.store.read, repo);
    const session = await this.blobs.openUpload(
      actor,
      [...sizes].map(([oid, size]) => ({ path: oid, size, sha256: oid })),
      HUB_UPLOAD_TTL_MS,
    );
    const missing = new Set(session.missing);
    return {
      session: missing.size > 0 ? session.upload_id : undefined,
      objects: asked.map((o) => (missing.has(o.oid) ? { ...o, upload: session.upload_id } : o)),
    };
  }

  /** The LFS verify action: the object is stored with this size. */
  async verify(actor: Actor, repo: string, oid: unknown, size: unknown): Promise<void> {
    requireRole(actor, 'viewer', 'verifying an upload', repo);
    const info = typeof oid === 'string' ? await this.blobs.stat(oid) : undefined;
    if (!info || info.size !== size)
      throw notFound(`object ${String(oid).slice(0, 64)} with ${String(size)} bytes is not stored: upload it again`, { oid: String(oid).slice(0, 64) });
  }

  /**
   * An NDJSON commit onto branch `revision`. Everything is parsed and checked first (lines,
   * paths, LFS objects stored with their sizes, the branch head against `parentCommit`, deleted
   * entries present); then the version is committed, and the branch's alias moved, in one
   * transaction that checks the head again. A refusal anywhere leaves nothing committed.
   */
  async commit(actor: Actor, repo: string, revision: string, body: string): Promise<{ commit: string; version: number }> {
    requireRole(actor, 'editor', 'committing', repo);
    const request = parseHubCommit(body);
    const tx = this.deps.store.read;
    const model = await this.requireRepo(tx, repo);
    const start = await this.branch(tx, model, revision);
    const parent = request.parentCommit;
    const stale = (head: VersionRecord | undefined) => {
      const at = head ? commitIdOf(head.digest) : undefined;
      if (parent !== undefined && !at?.startsWith(parent))
        throw new BerthError(
          'FAILED_PRECONDITION',
          `parentCommit ${parent} is not the head of ${revision} (${at ?? 'no commit yet'}): someone committed meanwhile; fetch the new head and commit again`,
          { parent_commit: parent, head: at ?? null },
        );
    };
    stale(start.head);

    const inline: { sha256: string; base64: string }[] = [];
    const changes: HubChange[] = [];
    for (const op of request.operations) {
      if (op.kind === 'file') {
        const data = Buffer.from(op.base64, 'base64');
        if (data.length > INLINE_BLOB_MAX_BYTES)
          throw invalid(
            `file ${op.path}: ${data.length} bytes inline; files over ${INLINE_BLOB_MAX_BYTES} bytes are uploaded through LFS (preupload answers lfs for every non-empty file); nothing was committed`,
            { field: 'file', path: op.path },
          );
        const sha256 = createHash('sha256').update(data).digest('hex');
        inline.push({ sha256, base64: op.base64 });
        changes.push({ kind: 'put', path: op.path, sha256, size: data.length });
      } else if (op.kind === 'lfsFile') {
        const info = await this.blobs.stat(op.oid);
        if (!info)
          throw invalid(`lfsFile ${op.path}: object ${op.oid} was never uploaded: upload it through the LFS batch API first; nothing was committed`, {
            field: 'lfsFile',
            path: op.path,
            oid: op.oid,
          });
        if (op.size !== undefined && info.size !== op.size)
          throw invalid(`lfsFile ${op.path}: object ${op.oid} has ${info.size} bytes, not ${op.size}; nothing was committed`, { field: 'size', path: op.path });
        changes.push({ kind: 'put', path: op.path, sha256: op.oid, size: info.size });
      } else changes.push(op);
    }
    const files = applyHubChanges(await this.headFiles(start.head), changes);
    if (start.alias !== undefined) await this.aliases.refuseBound(repo, start.alias);
    const description = [request.summary.trim(), request.description.trim()].filter((s) => s !== '').join('\n\n');
    const distinctInline = [...new Map(inline.map((b) => [b.sha256, b])).values()];
    const { version } = await this.versions.commit(
      actor,
      repo,
      { files, description, createModel: false, ...(distinctInline.length > 0 ? { blobs: distinctInline } : {}) },
      {
        locked: async (wtx) => {
          const now = await this.branch(wtx, model, revision);
          if (now.head?.id !== start.head?.id) {
            stale(now.head);
            if (parent === undefined)
              throw new BerthError('CONFLICT', `${revision} moved while this commit was checked; commit again`, {
                head: now.head ? commitIdOf(now.head.digest) : null,
              });
          }
        },
        inserted: async (wtx, m, v) => {
          if (start.alias !== undefined)
            await this.aliases.moveIn(wtx, actor, m, { alias: start.alias, version: v.version, expect: start.head?.version ?? null }, request.summary || null);
        },
      },
    );
    return { commit: commitIdOf(version.digest), version: version.version };
  }
}
