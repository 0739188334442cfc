import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalid, notFound, type ManifestFile } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { sendBytes } from '../native/stream-reply.js';

/**
 * MLflow's artifact proxy (`MlflowArtifactsService`) on Berth's blob store. Paths are relative
 * to the artifact root. `_berth/manifests/<sha256>/…` is a read-only view of a registered
 * version's files by its manifest digest: what `get-download-uri` hands out, so a download
 * returns exactly the files the version pinned, whatever happens to the run afterwards.
 */
export const MANIFEST_PREFIX = '_berth/manifests';

function manifestPath(path: string): { digest: string; rest: string } | undefined {
  if (!path.startsWith(`${MANIFEST_PREFIX}/`)) return undefined;
  const [hex, ...rest] = path.slice(MANIFEST_PREFIX.length + 1).split('/');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw notFound(`no artifact ${path}`, { path });
  return { digest: `sha256:${hex}`, rest: rest.join('/') };
}

function listOneLevel(files: ManifestFile[], dir: string) {
  const prefix = dir === '' ? '' : `${dir}/`;
  const dirs = new Set<string>();
  const out: { path: string; is_dir: boolean; file_size?: number }[] = [];
  for (const f of files) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash === -1) out.push({ path: rest, is_dir: false, file_size: f.size });
    else dirs.add(rest.slice(0, slash));
  }
  return [...[...dirs].sort().map((d) => ({ path: d, is_dir: true })), ...out];
}

/** RFC 6266/5987: a non-ASCII file name must not break the header (MLflow answers 500 there). */
function disposition(path: string): string {
  const base = path.split('/').pop() ?? 'file';
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

export function artifactRoutes(app: FastifyInstance, registry: Registry): void {
  const t = registry.tracking;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.get<{ Querystring: { path?: string } }>('/artifacts', async (req) => {
    const dir = (req.query.path ?? '').replace(/^\/+|\/+$/g, '');
    let files;
    try {
      const m = manifestPath(`${dir}/`);
      files = m ? listOneLevel(await registry.versions.filesByDigest(m.digest), m.rest.replace(/\/+$/, '')) : await t.listArtifacts(dir);
    } catch (err) {
      // A path that does not exist lists as empty, as MLflow's proxy answers.
      if ((err as { code?: string }).code === 'NOT_FOUND') return {};
      throw err;
    }
    return files.length ? { files } : {};
  });

  app.get<{ Params: { '*': string } }>('/artifacts/*', async (req: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    const path = req.params['*'];
    if (!path) throw invalid('give an artifact path', { field: 'path' });
    const m = manifestPath(path);
    let file: { size: number; sha256: string };
    if (m) {
      const f = (await registry.versions.filesByDigest(m.digest)).find((x) => x.path === m.rest);
      if (!f) throw notFound(`no artifact ${path}`, { path });
      file = f;
    } else file = await t.getArtifact(path);
    reply.header('content-disposition', disposition(path)).header('x-content-type-options', 'nosniff');
    return sendBytes(req, reply, file, (range) => registry.blobs.open(file.sha256, range));
  });

  app.put<{ Params: { '*': string } }>('/artifacts/*', async (req) => {
    const path = req.params['*'];
    if (!path || path.startsWith('_berth/')) throw invalid(`cannot write artifact ${JSON.stringify(path)}`, { field: 'path' });
    const len = req.headers['content-length'];
    await t.putArtifact(actorOf(req, 'mlflow'), path, req.raw, len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined);
    return {};
  });

  app.delete<{ Params: { '*': string } }>('/artifacts/*', async (req) => {
    const path = req.params['*'];
    if (!path || path.startsWith('_berth/')) throw invalid(`cannot delete artifact ${JSON.stringify(path)}`, { field: 'path' });
    await t.deleteArtifact(actorOf(req, 'mlflow'), path);
    return {};
  });
}
