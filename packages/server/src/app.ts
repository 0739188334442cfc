import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import AjvCompiler from '@fastify/ajv-compiler';
import { checkJsonDepth } from '@berth/core';
import type { Registry } from './registry/registry.js';
import { collectOpenApi } from './http/openapi.js';
import { nativeApi } from './http/native/index.js';
import type { EventStreamOptions } from './http/native/events-routes.js';
import { mlflowApi, mlflowArtifactsApi } from './http/mlflow/index.js';
import { hubApi, hubFiles } from './http/hub/index.js';
import { sendError } from './http/errors.js';
import { clientErrorHandler, sendFrameworkError, sendRouteNotFound } from './http/framework-errors.js';
import { browserGuard } from './http/guard.js';
import { authentication } from './http/auth.js';
import { observeRequests } from './http/metrics.js';
import { webUi } from './http/web.js';

export interface AppOptions {
  registry: Registry;
  /** pino logger options, or false for none (tests). */
  logger?: FastifyServerOptions['logger'];
  /** Largest JSON body accepted, bytes. Blob uploads stream and are limited separately. */
  bodyLimit?: number;
  /** The URL clients reach this server by, for every URL it hands out; default: the listener's own address. */
  publicUrl?: string;
  /** Host names answered besides loopback and the public URL's (guard.ts); `*` for any. */
  allowedHosts?: readonly string[];
  /** Origins allowed to change the registry besides the server's own (guard.ts); `*` for any. */
  allowedOrigins?: readonly string[];
  /** Every request but /healthz needs a valid token (http/auth.ts); default: only requests that send one are checked. */
  authRequired?: boolean;
  /** Limits of the event stream (GET /api/v1/events as text/event-stream). */
  eventStream?: EventStreamOptions;
  /** The built web UI (packages/web/dist) served at /; without it the UI's pages say how to build it. */
  webRoot?: string;
}

/** `http://<address>:<port>` of the listener; before it listens (inject()), plain loopback. */
function listenerUrl(app: FastifyInstance): string {
  const a = app.server.address();
  if (a === null || typeof a === 'string') return 'http://localhost';
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Builds the HTTP app; never listens (CONVENTIONS: tests use inject(), main.ts listens). */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    // Model names and file paths are long: up to 257 and 1,024 bytes before escaping.
    routerOptions: { maxParamLength: 8192 },
    schemaController: { compilersFactory: { buildValidator: strictBodies() } },
    // Every answer >= 400 in the shape of the front its URL belongs to, Fastify's and Node's own too.
    frameworkErrors: (err, req, reply) => sendFrameworkError(req, reply, err),
    clientErrorHandler,
    // One line per request instead of Fastify's two, with the route, status, time and actor (http/metrics.ts).
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Lets a client tell Berth from another service answering on the same URL.
  // Callback hooks, not async ones: they run on every request, and a promise per hook shows on the hot read path.
  app.addHook('onRequest', (_req, reply, done) => {
    reply.header('berth-api', '1');
    done();
  });
  observeRequests(app);
  const openapi = collectOpenApi(app, '/api/v1');
  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler(sendRouteNotFound);
  // Before any schema, handler or serialiser walks a body recursively (every front).
  app.addHook('preValidation', async (req) => checkJsonDepth(req.body, 'the request body'));
  const publicUrl = () => opts.publicUrl ?? listenerUrl(app);
  browserGuard(app, { publicUrl, allowedHosts: opts.allowedHosts ?? [], allowedOrigins: opts.allowedOrigins ?? [] });
  authentication(app, { tokens: opts.registry.tokens, required: opts.authRequired ?? false });
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  await app.register(nativeApi, { prefix: '/api/v1', registry: opts.registry, openapi, ...(opts.eventStream ? { eventStream: opts.eventStream } : {}) });
  for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) await app.register(mlflowApi, { prefix, registry: opts.registry });
  for (const prefix of ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts'])
    await app.register(mlflowArtifactsApi, { prefix, registry: opts.registry, publicUrl });
  await app.register(hubApi, { prefix: '/api/models', registry: opts.registry });
  await app.register(hubFiles, { registry: opts.registry });
  await webUi(app, { root: opts.webRoot });
  // Multipart uploads abandoned for a day (a killed client) leave parts on disk: drop them at start-up.
  app.addHook(
    'onReady',
    async () => void (await opts.registry.multipart.sweep().catch((err: unknown) => app.log.warn({ err }, 'could not remove abandoned multipart uploads'))),
  );
  return app;
}

/**
 * Ajv for the native API: a JSON body is taken exactly as sent (`true` is not a version,
 * `123` is not a name, `null` is not 0), while query strings, path parameters and headers,
 * which are text by nature, are read as the numbers and booleans their schemas ask for.
 * Unknown fields are refused, not stripped (docs/decisions/0002). The MLflow fronts set their
 * own validator with MLflow's leniencies (http/mlflow/params.ts).
 */
function strictBodies(): AjvCompiler.ValidatorFactory {
  const pool = AjvCompiler();
  const base = { removeAdditional: false, useDefaults: true, allErrors: false } as const;
  return (externalSchemas) => {
    const body = pool(externalSchemas, { customOptions: { ...base, coerceTypes: false } });
    const text = pool(externalSchemas, { customOptions: { ...base, coerceTypes: 'array' } });
    return (route) => (route.httpPart === 'body' ? body : text)(route);
  };
}
