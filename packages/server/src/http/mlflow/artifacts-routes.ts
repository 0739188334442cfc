import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { invalid, notFound, type ManifestFile } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { sendBytes } from '../native/stream-reply.js';
import { MlflowError } from './errors.js';
import { OptStr, Required } from './params.js';

/**
 * MLflow's artifact proxy (`MlflowArtifactsService`) on Berth's blob store. Paths are relative
 * to the artifact root. `_berth/manifests/<sha256>/…` is a read-only view of a registered
 * version's files by its manifest digest: what `get-download-uri` hands out, so a download
 * returns exactly the files the version pinned, whatever happens to the run afterwards.
 */
export const MANIFEST_PREFIX = '_berth/manifests';

function manifestPath(path: string): { digest: string; rest: string } | undefined {
  if (!path.startsWith(`${MANIFEST_PREFIX}/`)) return undefined;
  const [hex = '', ...rest] = path.slice(MANIFEST_PREFIX.length + 1).split('/');
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

/** A path the proxy may write: not empty, not inside the read-only `_berth/` views. */
function writablePath(path: string, what: string): string {
  if (!path || path.startsWith('_berth/')) throw invalid(`cannot ${what} artifact ${JSON.stringify(path)}`, { field: 'path' });
  return path;
}

/** MLflow's words for "no multipart upload here"; the client then sends the whole file in one PUT. */
const MPU_UNSUPPORTED = 'Multipart upload is not supported for the current artifact repository';

/**
 * Where a multipart upload lands. MLflow's client puts the artifact folder in the URL and its
 * own local file path in the body's `path` (as its S3 store does, the artifact is
 * `<folder>/<base name of the local file>`), so the result is where a single PUT would put it.
 * The base name is split on `/` and `\` alike: a Windows client sends `C:\…\file`.
 */
function mpuTarget(dir: string, local: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point of this check
  if (/[\u0000-\u001f\u007f]/.test(local)) throw invalid(`invalid file path ${JSON.stringify(local)}: it contains a control character`, { field: 'path' });
  const name = local.split(/[\\/]/).pop() ?? '';
  const folder = dir.replace(/(.)\/+$/, '$1');
  return writablePath(folder === '' ? name : `${folder}/${name}`, 'write');
}

/** MLflow's lenient JSON, as on /api/2.0/mlflow: empty or invalid reads as `{}`. */
function lenientJson(_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const text = String(body).trim();
  try {
    let parsed: unknown = text === '' ? {} : JSON.parse(text);
    if (typeof parsed === 'string') parsed = JSON.parse(parsed);
    done(null, parsed);
  } catch {
    done(null, {});
  }
}

/** The JSON body of mpu/create, complete and abort; num_parts, upload_id and parts are checked by the multipart service. */
const MpuBody = Type.Object({
  path: Required,
  num_parts: Type.Optional(Type.Unknown()),
  upload_id: Type.Optional(Type.Unknown()),
  parts: Type.Optional(Type.Unknown()),
});
type MpuBody = Static<typeof MpuBody>;

/**
 * MLflow's multipart upload (`MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true`): `mpu/create` hands
 * out one URL per part, pointing back at this server; each part is a raw PUT answered with an
 * `ETag`; `mpu/complete` assembles the parts into the artifact, `mpu/abort` drops them.
 */
function multipartRoutes(app: FastifyInstance, registry: Registry, publicUrl: () => string): void {
  const mp = registry.multipart;
  const unsupported = () => new MlflowError('NOT_IMPLEMENTED', 501, MPU_UNSUPPORTED);

  // Parts are raw bytes, streamed to disk; the upload id in the URL is what authorises them.
  app.put<{ Params: { id: string; part: string } }>('/mpu/part/:id/:part', async (req, reply) => {
    if (!mp.supported) throw unsupported();
    const len = req.headers['content-length'];
    const { etag } = await mp.uploadPart(req.params.id, req.params.part, req.raw, len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined);
    return reply.header('etag', etag).send({});
  });

  // create/complete/abort carry JSON, which the raw-body parser of the artifact routes would not read.
  void app.register(async (json) => {
    json.addContentTypeParser('application/json', { parseAs: 'string' }, lenientJson);
    // Built from the configured public URL, never from the Host header a caller chose.
    const partsBase = (id: string) => `${publicUrl()}${json.prefix}/mpu/part/${id}`;

    json.post<{ Params: { '*': string }; Body: MpuBody }>('/mpu/create/*', { schema: { body: MpuBody } }, async (req) => {
      if (!mp.supported) throw unsupported();
      const body = req.body;
      const path = mpuTarget(req.params['*'], body.path);
      const { uploadId, numParts } = await mp.create(actorOf(req, 'mlflow'), path, body.num_parts);
      const base = partsBase(uploadId);
      const credentials = Array.from({ length: numParts }, (_, i) => ({ url: `${base}/${i + 1}`, part_number: i + 1, headers: {} }));
      return { upload_id: uploadId, credentials };
    });

    json.post<{ Params: { '*': string }; Body: MpuBody }>('/mpu/complete/*', { schema: { body: MpuBody } }, async (req) => {
      if (!mp.supported) throw unsupported();
      const body = req.body;
      const path = mpuTarget(req.params['*'], body.path);
      await mp.complete(actorOf(req, 'mlflow'), path, body.upload_id, body.parts);
      return {};
    });

    json.post<{ Params: { '*': string }; Body: MpuBody }>('/mpu/abort/*', { schema: { body: MpuBody } }, async (req) => {
      if (!mp.supported) throw unsupported();
      const body = req.body;
      const path = mpuTarget(req.params['*'], body.path);
      await mp.abort(actorOf(req, 'mlflow'), path, body.upload_id);
      return {};
    });
  });
}

export function artifactRoutes(app: FastifyInstance, registry: Registry, publicUrl: () => string): void {
  const { artifacts } = registry;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.get<{ Querystring: { path?: string } }>('/artifacts', { schema: { querystring: Type.Object({ path: OptStr }) } }, async (req) => {
    const dir = (req.query.path ?? '').replace(/^\/+|\/+$/g, '');
    let files: { path: string; is_dir: boolean; file_size?: number }[];
    try {
      const m = manifestPath(`${dir}/`);
      files = m ? listOneLevel(await registry.versions.filesByDigest(m.digest), m.rest.replace(/\/+$/, '')) : await artifacts.list(dir);
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
    } else file = await artifacts.get(path);
    reply.header('content-disposition', disposition(path)).header('x-content-type-options', 'nosniff');
    return sendBytes(req, reply, file, (range) => registry.blobs.open(file.sha256, range));
  });

  app.put<{ Params: { '*': string } }>('/artifacts/*', async (req) => {
    const path = writablePath(req.params['*'], 'write');
    const len = req.headers['content-length'];
    await artifacts.put(actorOf(req, 'mlflow'), path, req.raw, len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined);
    return {};
  });

  app.delete<{ Params: { '*': string } }>('/artifacts/*', async (req) => {
    const path = writablePath(req.params['*'], 'delete');
    await artifacts.delete(actorOf(req, 'mlflow'), path);
    return {};
  });

  multipartRoutes(app, registry, publicUrl);
}
