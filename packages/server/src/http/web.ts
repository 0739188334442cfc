import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/**
 * The web UI (packages/web, DESIGN §7), served by this process: no second one to run. Each page
 * of the UI answers the app's index.html and the app routes in the browser; its built scripts and
 * styles are under /assets/, named by content hash, so they are cached for good.
 */
const PAGES = ['/', '/audit', '/promotions', '/deployments', '/settings'];
/**
 * A model's page and a version's page (a namespaced name's slash is encoded, so the name is one
 * segment), and a built file: exactly these shapes, no prefix. Longer paths under /models/ and
 * /assets/ belong to the Hub front (`/{ns}/{name}/resolve/…` of a repo in a namespace called
 * models or assets) and keep needing a token.
 */
const MODEL_PAGES = ['/models/:name', '/models/:name/versions/:version'];
const UI_PATH = /^\/(?:models\/[^/]+(?:\/versions\/[^/]+)?|assets\/[^/]+)$/;

/** Whether a request is for the UI's shell or assets: public, as they hold no registry data (the data comes from the API, with the signed-in token). */
export function isUiRequest(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return PAGES.includes(path) || UI_PATH.test(path);
}

export async function webUi(app: FastifyInstance, opts: { root: string | undefined }): Promise<void> {
  let index: string | undefined;
  if (opts.root) index = await readFile(join(opts.root, 'index.html'), 'utf8').catch(() => undefined);
  const page = async (_req: unknown, reply: import('fastify').FastifyReply) => {
    if (index === undefined) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built: run `npm run build` (it builds packages/web into packages/web/dist), then restart the server.\n');
    }
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
  };
  for (const path of [...PAGES, ...MODEL_PAGES]) app.get(path, { logLevel: 'warn' }, page);
  if (index !== undefined && opts.root) {
    // A route per built file (the build is done before the server starts): no /assets/* wildcard to shadow the Hub front.
    await app.register(fastifyStatic, {
      root: join(opts.root, 'assets'),
      prefix: '/assets/',
      wildcard: false,
      immutable: true,
      maxAge: '365d',
      logLevel: 'warn',
    });
  }
}
