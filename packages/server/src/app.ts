import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Registry } from './registry/registry.js';
import { collectOpenApi } from './http/openapi.js';
import { nativeApi } from './http/native/index.js';
import { mlflowApi, mlflowArtifactsApi } from './http/mlflow/index.js';
import { sendError } from './http/errors.js';

export interface AppOptions {
  registry: Registry;
  /** pino logger options, or false for none (tests). */
  logger?: FastifyServerOptions['logger'];
  /** Largest JSON body accepted, bytes. Blob uploads stream and are limited separately. */
  bodyLimit?: number;
}

/** Builds the HTTP app; never listens (CONVENTIONS: tests use inject(), main.ts listens). */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    // Model names and file paths are long: up to 257 and 1,024 bytes before escaping.
    routerOptions: { maxParamLength: 8192 },
    // Reject unknown fields instead of silently stripping them (docs/decisions/0002).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  // Lets a client tell Berth from another service answering on the same URL.
  app.addHook('onRequest', async (_req, reply) => void reply.header('berth-api', '1'));
  const openapi = collectOpenApi(app, '/api/v1');
  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  await app.register(nativeApi, { prefix: '/api/v1', registry: opts.registry, openapi });
  for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) await app.register(mlflowApi, { prefix, registry: opts.registry });
  for (const prefix of ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts'])
    await app.register(mlflowArtifactsApi, { prefix, registry: opts.registry });
  // Multipart uploads abandoned for a day (a killed client) leave parts on disk: drop them at start-up.
  app.addHook(
    'onReady',
    async () => void (await opts.registry.multipart.sweep().catch((err: unknown) => app.log.warn({ err }, 'could not remove abandoned multipart uploads'))),
  );
  return app;
}
