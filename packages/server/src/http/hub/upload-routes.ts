import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { BerthError, invalid, parseCard } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { sendHubError } from './errors.js';

type RepoParams = { ns: string; name: string };
type RevParams = RepoParams & { rev: string };
type GitParams = { ns: string; repo: string };

const RevParams = Type.Object({ ns: Type.String(), name: Type.String(), rev: Type.String() });
const GitParams = Type.Object({ ns: Type.String(), repo: Type.String() });
const UploadParams = Type.Object({ ns: Type.String(), repo: Type.String(), session: Type.String(), oid: Type.String(), size: Type.String() });

const LFS_JSON = 'application/vnd.git-lfs+json';

/** The URL the client reached this server by: the clients only accept URLs on their own endpoint host (reference/hf-hub.md §4.1, §4.5). */
const originOf = (req: FastifyRequest) => `${req.protocol}://${req.headers.host ?? 'localhost'}`;

/** `{ns}/{name}.git` of the LFS routes → `ns/name`. */
function gitRepo(p: GitParams): string {
  if (!p.repo.endsWith('.git') || p.repo.length === 4)
    throw invalid(`${JSON.stringify(`${p.ns}/${p.repo}`)} is not an LFS endpoint: the Hub's is /{namespace}/{name}.git/info/lfs`, { field: 'repo' });
  return `${p.ns}/${p.repo.slice(0, -4)}`;
}

const bodyOf = (req: FastifyRequest): Record<string, unknown> => {
  const b = req.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw invalid('the body must be a JSON object', { field: 'body' });
  return b as Record<string, unknown>;
};

/** `POST /api/models/{repo}/preupload/{rev}` and the NDJSON `commit` (reference/hf-hub.md §4.3, §4.5), under /api/models. */
export function commitRoutes(app: FastifyInstance, registry: Registry): void {
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post<{ Params: RevParams }>('/:ns/:name/preupload/:rev', { schema: { params: RevParams } }, async (req) => {
    const { ns, name, rev } = req.params;
    return { files: await registry.hubCommits.preupload(actorOf(req), `${ns}/${name}`, rev, bodyOf(req).files) };
  });

  app.post<{ Params: RevParams; Querystring: { create_pr?: string } }>('/:ns/:name/commit/:rev', { schema: { params: RevParams } }, async (req) => {
    const { ns, name, rev } = req.params;
    if (typeof req.body !== 'string')
      throw invalid('a commit is sent as Content-Type: application/x-ndjson, one JSON object per line', { field: 'content-type' });
    if (['1', 'true'].includes(String(req.query.create_pr ?? '').toLowerCase()))
      throw invalid('pull requests are not supported: commit to main or to an alias', { field: 'create_pr' });
    const repo = `${ns}/${name}`;
    const { commit } = await registry.hubCommits.commit(actorOf(req), repo, rev, req.body);
    return { success: true, commitOid: commit, commitUrl: `${originOf(req)}/${repo}/commit/${commit}`, hookOutput: '' };
  });
}

/** `POST /api/repos/create`, `POST /api/validate-yaml` and the LFS API at `/{repo}.git/info/lfs/` (reference/hf-hub.md §4.1, §4.2, §4.4), at the server's root. */
export function uploadRoutes(app: FastifyInstance, registry: Registry): void {
  app.addContentTypeParser(LFS_JSON, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.post('/api/repos/create', async (req, reply) => {
    const { name, organization, type } = bodyOf(req);
    if (type !== undefined && type !== null && type !== 'model') throw invalid(`only model repos are served, not ${JSON.stringify(type)}`, { field: 'type' });
    if (typeof name !== 'string' || (organization !== undefined && organization !== null && typeof organization !== 'string'))
      throw invalid('give `name` and `organization` (the namespace) as strings', { field: 'name' });
    const repo = organization ? `${organization}/${name}` : name;
    if (repo.split('/').length !== 2) throw invalid(`repo id ${JSON.stringify(repo)} must be namespace/name`, { field: 'name' });
    const url = `${originOf(req)}/${repo}`;
    try {
      await registry.hubCommits.createRepo(actorOf(req), repo);
    } catch (err) {
      // huggingface_hub's exist_ok reads `url` from the 409's body too.
      if (err instanceof BerthError && err.code === 'ALREADY_EXISTS') return sendHubError(req, reply, err, 409, { url });
      throw err;
    }
    return reply.send({ url, name: repo, id: repo });
  });

  app.post('/api/validate-yaml', async (req, reply) => {
    const { content } = bodyOf(req);
    if (typeof content !== 'string') return reply.code(400).send({ errors: [{ message: '`content` (the README text) must be a string' }], warnings: [] });
    try {
      parseCard(content);
    } catch (err) {
      return reply.code(400).send({ errors: [{ message: (err as Error).message }], warnings: [] });
    }
    return { errors: [], warnings: [] };
  });

  app.post<{ Params: GitParams }>('/:ns/:repo/info/lfs/objects/batch', { schema: { params: GitParams } }, async (req, reply) => {
    const repo = gitRepo(req.params);
    const { operation, transfers, objects } = bodyOf(req);
    if (operation !== 'upload') throw invalid('only the upload operation is served here: downloads go through /{repo}/resolve', { field: 'operation' });
    if (Array.isArray(transfers) && transfers.length > 0 && !transfers.includes('basic'))
      throw invalid('this server speaks the basic transfer only (no xet, no multipart)', { field: 'transfers' });
    const batch = await registry.hubCommits.lfsBatch(actorOf(req), repo, objects);
    const base = `${originOf(req)}/${req.params.ns}/${req.params.repo}/info/lfs/objects`;
    reply.type(LFS_JSON);
    return {
      transfer: 'basic',
      objects: batch.objects.map((o) =>
        o.upload === undefined
          ? { oid: o.oid, size: o.size }
          : {
              oid: o.oid,
              size: o.size,
              authenticated: true,
              actions: {
                upload: { href: `${base}/upload/${o.upload}/${o.oid}/${o.size}`, header: {} },
                verify: { href: `${base}/verify`, header: {} },
              },
            },
      ),
    };
  });

  app.post<{ Params: GitParams }>('/:ns/:repo/info/lfs/objects/verify', { schema: { params: GitParams } }, async (req, reply) => {
    const { oid, size } = bodyOf(req);
    await registry.hubCommits.verify(actorOf(req), gitRepo(req.params), oid, size);
    return reply.type(LFS_JSON).send({ oid, size });
  });

  // The link the batch handed out: raw bytes, streamed to the blob store, which checks sha256 and size.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.put<{ Params: GitParams & { session: string; oid: string; size: string } }>(
      '/:ns/:repo/info/lfs/objects/upload/:session/:oid/:size',
      { schema: { params: UploadParams } },
      async (req, reply) => {
        gitRepo(req.params);
        if (!/^\d{1,15}$/.test(req.params.size)) throw invalid('the size in an upload link is a whole number of bytes', { field: 'size' });
        const r = await registry.blobs.putInSession(req.params.session, req.params.oid, Number(req.params.size), req.raw);
        return reply.code(r.created ? 201 : 200).send({ oid: r.sha256, size: r.size });
      },
    );
  });
}
