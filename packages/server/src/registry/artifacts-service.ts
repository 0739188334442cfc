import type { Readable } from 'node:stream';
import { invalid, notFound, validateFilePath, type ManifestFile } from '@berth/core';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import type { LoggedModelService } from './logged-models-service.js';
import type { RunService } from './runs-service.js';
import { saveInspection, UploadInspection } from './upload-inspection.js';
import { loggedModelArtifactRoot, runArtifactRoot, type ArtifactRecord } from './tracking.js';

/**
 * MLflow's artifact store, inside Berth's: each artifact path points at a blob, so the files a
 * run or logged model wrote can become a version's manifest by digest.
 */
export class ArtifactService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly runs: RunService,
    private readonly loggedModels: LoggedModelService,
  ) {}

  /** Streams an artifact into the blob store, then points its path at the blob. */
  async put(actor: Actor, path: string, body: Readable, size?: number): Promise<ArtifactRecord> {
    requireRole(actor, 'editor', 'writing artifacts');
    validateFilePath(path);
    const inspection = UploadInspection.start(this.deps);
    const { sha256, size: written } = await this.deps.blobs.putUnknown(body, {
      expectedSize: size,
      maxBytes: this.deps.config.maxBlobBytes,
      observe: inspection?.observe,
    });
    await saveInspection(this.deps, sha256, inspection);
    const rec: ArtifactRecord = { path, sha256, size: written, updated_at: this.deps.clock.now() };
    await this.deps.store.transaction((tx) => tx.artifacts.set(rec));
    return rec;
  }

  async get(path: string): Promise<ArtifactRecord> {
    validateFilePath(path);
    const a = await this.deps.store.read.artifacts.find(path);
    if (!a) throw notFound(`artifact ${JSON.stringify(path)} not found`, { path });
    return a;
  }

  /** One level of a folder: files with sizes and sub-folders, by base name. */
  async list(dir: string): Promise<{ path: string; is_dir: boolean; file_size?: number }[]> {
    if (dir !== '') validateFilePath(dir);
    const all = await this.deps.store.read.artifacts.under(dir);
    const prefix = dir === '' ? '' : `${dir}/`;
    const dirs = new Set<string>();
    const out: { path: string; is_dir: boolean; file_size?: number }[] = [];
    for (const a of all) {
      const rest = a.path.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) out.push({ path: rest, is_dir: false, file_size: a.size });
      else dirs.add(rest.slice(0, slash));
    }
    return [...[...dirs].sort().map((d) => ({ path: d, is_dir: true })), ...out];
  }

  async delete(actor: Actor, path: string): Promise<void> {
    requireRole(actor, 'editor', 'deleting artifacts');
    validateFilePath(path);
    await this.deps.store.transaction(async (tx) => {
      for (const a of [await tx.artifacts.find(path), ...(await tx.artifacts.under(path))]) if (a) await tx.artifacts.delete(a.path);
    });
  }

  /**
   * Where a version's files are, from an MLflow-style source: `models:/<logged model id>`
   * (MLflow 3), `runs:/<run id>/<path>`, or `mlflow-artifacts:/<path>` — all inside Berth's
   * artifact store. Anything else is refused: Berth pins only files it holds (a source in an
   * external store never reaches here: it becomes an external version, decision 0021).
   */
  async dirOf(source: string): Promise<string> {
    let m = /^models:\/(m-[0-9a-f]{32})\/?$/.exec(source);
    if (m) return loggedModelArtifactRoot(await this.loggedModels.get(m[1]!));
    m = /^runs:\/([A-Za-z0-9_-]+)\/(.*)$/.exec(source);
    if (m) return `${runArtifactRoot(await this.runs.getRecord(m[1]!))}/${m[2]}`.replace(/\/+$/, '');
    m = /^mlflow-artifacts:(?:\/\/[^/]+)?\/+(.+?)\/*$/.exec(source);
    if (m) return m[1]!;
    throw invalid(
      `Unsupported source ${JSON.stringify(source)}: give models:/<model_id>, runs:/<run_id>/<path> or mlflow-artifacts:/<path> stored in this server`,
      { field: 'source' },
    );
  }

  /** The files below `dir` as a manifest relative to it: what a registered version pins. */
  async snapshot(dir: string): Promise<ManifestFile[]> {
    const all = await this.deps.store.read.artifacts.under(dir);
    return all.map((a) => ({ path: a.path.slice(dir.length + 1), size: a.size, sha256: a.sha256 }));
  }
}
