import type { FastifyInstance } from 'fastify';
import type { Registry } from '../../registry/registry.js';
import { sendHubError } from './errors.js';
import { apiRoutes, resolveRoutes } from './routes.js';
import { commitRoutes, uploadRoutes } from './upload-routes.js';

const notFoundMessage = (method: string, url: string) =>
  `no Hub route ${method} ${url}: repo ids are namespace/name, and the routes are /{repo}/resolve/{rev}/{path}, /api/models/{repo}[/revision|tree|refs|commits|paths-info|preupload|commit] and /{repo}.git/info/lfs/objects/batch`;

/**
 * The Hugging Face Hub front (docs/decisions/0020): the routes under /api/models,
 * with the Hub's error headers. Form bodies (paths-info from huggingface_hub) are read as
 * `{field: value | value[]}`.
 */
export async function hubApi(app: FastifyInstance, opts: { registry: Registry }): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const form = new URLSearchParams(String(body));
    done(null, Object.fromEntries([...new Set(form.keys())].map((k) => [k, form.getAll(k)])));
  });
  app.setErrorHandler((err, req, reply) => sendHubError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendHubError(req, reply, Object.assign(new Error(notFoundMessage(req.method, req.url)), { statusCode: 404 })));
  apiRoutes(app, opts.registry);
  commitRoutes(app, opts.registry);
}

/**
 * The routes at the server's root, with the Hub's error headers: files (`/{ns}/{name}/resolve/{rev}/{path}`),
 * `/api/repos/create`, `/api/validate-yaml` and the LFS API (`/{ns}/{name}.git/info/lfs/…`).
 */
export async function hubFiles(app: FastifyInstance, opts: { registry: Registry }): Promise<void> {
  app.setErrorHandler((err, req, reply) => sendHubError(req, reply, err));
  resolveRoutes(app, opts.registry);
  uploadRoutes(app, opts.registry);
}

/** Whether an unrouted URL belongs to the Hub front, so that its refusal carries the Hub's error headers. */
export const isHubPath = (url: string): boolean =>
  url.startsWith('/api/models/') || url.startsWith('/api/repos/') || (!url.startsWith('/api/') && /^\/[^?]*(?:\/resolve\/|\.git\/info\/lfs\/)/.test(url));

export { sendHubError, notFoundMessage };
