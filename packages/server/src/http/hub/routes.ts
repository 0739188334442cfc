import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { hubPathsInfo, hubTree, invalid, notFound } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { sendBytes } from '../native/stream-reply.js';
import { commitEntry, modelInfo } from './wire.js';

type RepoParams = { ns: string; name: string };
type RevParams = RepoParams & { rev: string };

const RepoParams = Type.Object({ ns: Type.String(), name: Type.String() });
const RevParams = Type.Object({ ns: Type.String(), name: Type.String(), rev: Type.String() });
const RevPathParams = Type.Object({ ns: Type.String(), name: Type.String(), rev: Type.String(), '*': Type.String() });
/** Both clients send `true`/`false`; older ones `1`/`True`. Unknown query parameters (expand, cursor, …) are ignored. */
const Flags = Type.Object({ recursive: Type.Optional(Type.String()), include_prs: Type.Optional(Type.String()) });
const flag = (v: string | undefined) => v !== undefined && ['1', 'true'].includes(v.toLowerCase());

const repoId = (p: RepoParams) => `${p.ns}/${p.name}`;

/** `GET|HEAD /{ns}/{name}/resolve/{rev}/{path}`: the bytes, streamed, with the headers the clients key their cache on (reference/hf-hub.md §2.1). */
export function resolveRoutes(app: FastifyInstance, registry: Registry): void {
  app.route<{ Params: RevParams & { '*': string } }>({
    method: ['GET', 'HEAD'],
    url: '/:ns/:name/resolve/:rev/*',
    schema: { params: RevPathParams },
    handler: async (req, reply) => {
      const c = await registry.hub.resolve(repoId(req.params), req.params.rev);
      reply.header('x-repo-commit', c.commit);
      const file = await registry.hub.file(c, req.params['*']);
      // Every file is an LFS object (decision 0020): its sha256 is the etag the Hub gives LFS files.
      reply.header('x-linked-etag', `"${file.sha256}"`).header('x-linked-size', String(file.size));
      return sendBytes(req, reply, file, (range) => registry.blobs.open(file.sha256, range));
    },
  });
}

/** The JSON read API under /api/models (reference/hf-hub.md §3). */
export function apiRoutes(app: FastifyInstance, registry: Registry): void {
  const info = async (repo: string, rev: string) => {
    const c = await registry.hub.resolve(repo, rev);
    const files = await registry.hub.files(c);
    return modelInfo(c, files, await registry.hub.cardData(files));
  };
  app.get<{ Params: RepoParams }>('/:ns/:name', { schema: { params: RepoParams } }, async (req) => info(repoId(req.params), 'main'));
  app.get<{ Params: RevParams }>('/:ns/:name/revision/:rev', { schema: { params: RevParams } }, async (req) => info(repoId(req.params), req.params.rev));

  const tree = async (p: RevParams, folder: string, recursive: boolean) => {
    const c = await registry.hub.resolve(repoId(p), p.rev);
    // Python sends the folder as one %2F-encoded segment, JS with raw slashes; both decode to the same path.
    const path = folder.replace(/^\/+|\/+$/g, '');
    const entries = hubTree(await registry.hub.files(c), path, recursive);
    if (!entries) throw notFound(`${c.model.name} has no folder ${JSON.stringify(path)} at commit ${c.commit}`, { path, commit: c.commit, missing: 'entry' });
    return entries;
  };
  app.get<{ Params: RevParams; Querystring: { recursive?: string } }>(
    '/:ns/:name/tree/:rev',
    { schema: { params: RevParams, querystring: Flags } },
    async (req) => tree(req.params, '', flag(req.query.recursive)),
  );
  app.get<{ Params: RevParams & { '*': string }; Querystring: { recursive?: string } }>(
    '/:ns/:name/tree/:rev/*',
    { schema: { params: RevPathParams, querystring: Flags } },
    async (req) => tree(req.params, req.params['*'], flag(req.query.recursive)),
  );

  app.get<{ Params: RepoParams; Querystring: { include_prs?: string } }>(
    '/:ns/:name/refs',
    { schema: { params: RepoParams, querystring: Flags } },
    async (req) => {
      const { branches } = await registry.hub.refs(repoId(req.params));
      return {
        branches: branches.map((b) => ({ name: b.name, ref: `refs/heads/${b.name}`, targetCommit: b.commit })),
        tags: [],
        converts: [],
        ...(flag(req.query.include_prs) ? { pullRequests: [] } : {}),
      };
    },
  );

  app.get<{ Params: RevParams }>('/:ns/:name/commits/:rev', { schema: { params: RevParams } }, async (req) => {
    const c = await registry.hub.resolve(repoId(req.params), req.params.rev);
    return (await registry.hub.history(c)).map(commitEntry);
  });

  app.post<{ Params: RevParams; Body: unknown }>('/:ns/:name/paths-info/:rev', { schema: { params: RevParams } }, async (req) => {
    const paths = (req.body as { paths?: unknown } | undefined)?.paths;
    const list = typeof paths === 'string' ? [paths] : paths;
    if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === 'string')) {
      throw invalid('paths-info needs `paths`: one or more file or folder paths (form fields or a JSON array)', { field: 'paths' });
    }
    const c = await registry.hub.resolve(repoId(req.params), req.params.rev);
    return hubPathsInfo(await registry.hub.files(c), list as string[]);
  });
}
