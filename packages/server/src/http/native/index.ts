import type { FastifyInstance } from 'fastify';
import type { Registry } from '../../registry/registry.js';
import { sendError } from '../errors.js';
import { aliasRoutes } from './aliases-routes.js';
import { auditRoutes } from './audit-routes.js';
import { blobRoutes } from './blobs-routes.js';
import { eventRoutes, type EventStreamOptions } from './events-routes.js';
import { modelRoutes } from './models-routes.js';
import { tokenRoutes } from './tokens-routes.js';
import { versionRoutes } from './versions-routes.js';
import { webhookRoutes } from './webhooks-routes.js';
import { evaluationRoutes } from './evaluations-routes.js';
import { policyRoutes } from './policies-routes.js';
import { promotionRoutes } from './promotions-routes.js';
import { bundleRoutes } from './bundles-routes.js';
import { promptRoutes } from './prompts-routes.js';
import { cardRoutes } from './cards-routes.js';
import { deploymentRoutes } from './deployments-routes.js';
import { searchRoutes } from './search-routes.js';

/** The native API under /api/v1, with its own error shape (DESIGN §4). */
export async function nativeApi(
  app: FastifyInstance,
  opts: { registry: Registry; openapi: () => Record<string, unknown>; eventStream?: EventStreamOptions },
): Promise<void> {
  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, Object.assign(new Error(`no route ${req.method} ${req.url}: see GET /api/v1/openapi.json`), { statusCode: 404 })),
  );
  app.get(
    '/openapi.json',
    { schema: { summary: 'This document (OpenAPI 3.1)', tags: ['meta'], response: { 200: { type: 'object', additionalProperties: true } } } },
    async () => opts.openapi(),
  );
  modelRoutes(app, opts.registry);
  versionRoutes(app, opts.registry);
  aliasRoutes(app, opts.registry);
  blobRoutes(app, opts.registry);
  auditRoutes(app, opts.registry);
  webhookRoutes(app, opts.registry);
  tokenRoutes(app, opts.registry);
  evaluationRoutes(app, opts.registry);
  policyRoutes(app, opts.registry);
  promotionRoutes(app, opts.registry);
  bundleRoutes(app, opts.registry);
  promptRoutes(app, opts.registry);
  cardRoutes(app, opts.registry);
  deploymentRoutes(app, opts.registry);
  searchRoutes(app, opts.registry);
  eventRoutes(app, opts.registry, opts.eventStream);
}
