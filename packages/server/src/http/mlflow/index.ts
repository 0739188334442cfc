import type { FastifyInstance } from 'fastify';
import { invalid } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { MlflowError, sendMlflowError } from './errors.js';
import { useMlflowArgs } from './params.js';
import { registryRoutes } from './registry-routes.js';
import { trackingRoutes } from './tracking-routes.js';
import { artifactRoutes } from './artifacts-routes.js';
import { webhookRoutes } from './webhooks-routes.js';

/**
 * The MLflow REST front, mounted at /api/2.0/mlflow and /ajax-api/2.0/mlflow, with MLflow's
 * error shape and its lenient JSON: an empty body reads as `{}` (MLflow's server does the
 * same), a JSON string holding JSON is read twice (older clients), and DELETE carries its arguments in a JSON body. Arguments are checked
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
    } catch (err) {
      // MLflow's server reads unparseable JSON as no arguments and then reports a "missing"
      // one; a truncated body is the caller's real problem, so say that instead.
      done(invalid(`the request body is not valid JSON (${(err as Error).message}): send the whole JSON object`, { field: 'body' }), undefined);
    }
  });
  app.setErrorHandler((err, req, reply) => sendMlflowError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendMlflowError(req, reply, new MlflowError('ENDPOINT_NOT_FOUND', 404, `No API endpoint ${req.method} ${req.url}`)));
  useMlflowArgs(app);
  registryRoutes(app, opts.registry);
  trackingRoutes(app, opts.registry);
  webhookRoutes(app, opts.registry);
}

/** The artifact proxy at /api/2.0/mlflow-artifacts: raw bodies, streamed both ways. */
export async function mlflowArtifactsApi(app: FastifyInstance, opts: { registry: Registry; publicUrl: () => string }): Promise<void> {
  app.setErrorHandler((err, req, reply) => sendMlflowError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendMlflowError(req, reply, new MlflowError('ENDPOINT_NOT_FOUND', 404, `No API endpoint ${req.method} ${req.url}`)));
  useMlflowArgs(app);
  artifactRoutes(app, opts.registry, opts.publicUrl);
}
