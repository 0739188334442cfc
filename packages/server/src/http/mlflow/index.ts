import type { FastifyInstance } from 'fastify';
import type { Registry } from '../../registry/registry.js';
import { MlflowError, sendMlflowError } from './errors.js';
import { useMlflowArgs } from './params.js';
import { registryRoutes } from './registry-routes.js';
import { trackingRoutes } from './tracking-routes.js';
import { artifactRoutes } from './artifacts-routes.js';

/**
 * The MLflow REST front, mounted at /api/2.0/mlflow and /ajax-api/2.0/mlflow, with MLflow's
 * error shape and its lenient JSON: an empty or invalid body reads as `{}` (MLflow's server
 * does the same), and DELETE carries its arguments in a JSON body. Arguments are checked
 * against each route's schema with MLflow's leniencies (params.ts).
 */
export async function mlflowApi(app: FastifyInstance, opts: { registry: Registry }): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, {});
    try {
      let parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'string') parsed = JSON.parse(parsed);
      done(null, parsed);
    } catch {
      done(null, {});
    }
  });
  app.setErrorHandler((err, req, reply) => sendMlflowError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendMlflowError(req, reply, new MlflowError('ENDPOINT_NOT_FOUND', 404, `No API endpoint ${req.method} ${req.url}`)));
  useMlflowArgs(app);
  registryRoutes(app, opts.registry);
  trackingRoutes(app, opts.registry);
}

/** The artifact proxy at /api/2.0/mlflow-artifacts: raw bodies, streamed both ways. */
export async function mlflowArtifactsApi(app: FastifyInstance, opts: { registry: Registry; publicUrl: () => string }): Promise<void> {
  app.setErrorHandler((err, req, reply) => sendMlflowError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendMlflowError(req, reply, new MlflowError('ENDPOINT_NOT_FOUND', 404, `No API endpoint ${req.method} ${req.url}`)));
  useMlflowArgs(app);
  artifactRoutes(app, opts.registry, opts.publicUrl);
}
