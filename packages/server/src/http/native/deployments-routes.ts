import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ApplyDeploymentBody,
  DeploymentSchema,
  DeploymentStatusSchema,
  PageSchema,
  RolloutDecisionBody,
  RolloutSchema,
  RoutingSnapshotSchema,
  RolloutAtSchema,
  ServedAtSchema,
  ServedReportBody,
  ServedReportSchema,
  isoTime,
  type Deployment,
  type ServedReport,
} from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import type { DeploymentView, ServedView } from '../../registry/deployments-service.js';
import { toWireRollout } from '../../registry/rollout-records.js';
import { actorOf } from '../actor.js';
import { toWirePage } from './wire.js';

function toWireDeployment(d: DeploymentView): Deployment {
  return {
    name: d.name,
    version: d.version,
    digest: d.digest,
    model: d.model,
    document: d.document,
    yaml: d.yaml,
    created_by: d.created_by,
    created_at: isoTime(d.created_at),
    ...('unchanged' in d && d.unchanged !== undefined ? { unchanged: d.unchanged } : {}),
  };
}

function toWireServed(s: ServedView): ServedReport {
  return {
    deployment: s.deployment,
    gateway: s.gateway,
    from: isoTime(s.from),
    to: isoTime(s.to),
    versions: s.versions,
    shadow: s.shadow,
    received_at: isoTime(s.received_at),
  };
}

const NameParams = Type.Object({ name: Type.String() });
const TAGS = ['deployments'];

/** Deployments and the gateway's calls (decision 0023): the SDK's deployment methods speak exactly these. */
export function deploymentRoutes(app: FastifyInstance, registry: Registry): void {
  const deployments = registry.deployments;

  app.post<{ Body: ApplyDeploymentBody }>(
    '/deployments',
    {
      schema: {
        summary: 'Apply a deployment (YAML): checked against the registry, stored as its next version unless unchanged',
        tags: TAGS,
        body: ApplyDeploymentBody,
        response: { 200: DeploymentSchema },
      },
    },
    async (req) => toWireDeployment(await deployments.apply(actorOf(req), req.body.yaml)),
  );

  app.get<{ Querystring: { cursor?: string; limit?: number } }>(
    '/deployments',
    {
      schema: {
        summary: 'List deployments (the latest version of each), by name',
        tags: TAGS,
        querystring: Type.Object({ cursor: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: { 200: PageSchema(DeploymentSchema) },
      },
    },
    async (req) => toWirePage(await deployments.list(req.query), toWireDeployment),
  );

  app.get<{ Params: { name: string }; Querystring: { version?: number } }>(
    '/deployments/:name',
    {
      schema: {
        summary: 'Get a deployment: its latest version, or the version asked for',
        tags: TAGS,
        params: NameParams,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 })) }),
        response: { 200: DeploymentSchema },
      },
    },
    async (req) => toWireDeployment(await deployments.get(req.params.name, req.query.version)),
  );

  app.delete<{ Params: { name: string }; Querystring: { reason?: string } }>(
    '/deployments/:name',
    {
      schema: {
        summary: 'Delete a deployment and its rollout (its versions and served reports stay on record)',
        tags: TAGS,
        params: NameParams,
        querystring: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 2000 })) }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await deployments.delete(actorOf(req), req.params.name, req.query.reason);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { name: string } }>(
    '/deployments/:name/routing',
    {
      schema: {
        summary: 'Everything a gateway routes a deployment by, read at one event sequence number',
        tags: TAGS,
        params: NameParams,
        response: { 200: RoutingSnapshotSchema },
      },
    },
    async (req) => {
      const r = await deployments.routing(req.params.name);
      return {
        seq: r.seq,
        deployment: toWireDeployment(r.deployment),
        aliases: r.aliases,
        versions: r.versions,
        rollout: r.rollout && toWireRollout(r.rollout),
      };
    },
  );

  app.post<{ Params: { name: string }; Body: RolloutDecisionBody }>(
    '/deployments/:name/rollout',
    {
      schema: {
        summary: "A gateway's rollout decision (409 when another decision on that rollout and step came first)",
        tags: TAGS,
        params: NameParams,
        body: RolloutDecisionBody,
        response: { 200: RolloutSchema },
      },
    },
    async (req) => toWireRollout(await deployments.decide(actorOf(req), req.params.name, req.body)),
  );

  app.post<{ Params: { name: string }; Body: ServedReportBody }>(
    '/deployments/:name/served',
    {
      schema: {
        summary: 'What a gateway served over a window (audited when its mix of versions changed)',
        tags: TAGS,
        params: NameParams,
        body: ServedReportBody,
        response: { 200: ServedReportSchema },
      },
    },
    async (req) => toWireServed(await deployments.reportServed(actorOf(req), req.params.name, req.body)),
  );

  app.get<{ Params: { name: string }; Querystring: { at: string } }>(
    '/deployments/:name/served',
    {
      schema: {
        summary: 'What the gateways served at a time: their reports then, and each version’s share',
        tags: TAGS,
        params: NameParams,
        querystring: Type.Object({ at: Type.String() }),
        response: { 200: ServedAtSchema },
      },
    },
    async (req) => {
      const s = await deployments.servedAt(req.params.name, req.query.at);
      return { deployment: s.deployment, at: isoTime(s.at), reports: s.reports.map(toWireServed), versions: s.versions };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { at: string } }>(
    '/deployments/:name/rollout',
    {
      schema: {
        summary: 'The rollout as it stood at a time (from the events of its decisions), or null',
        tags: TAGS,
        params: NameParams,
        querystring: Type.Object({ at: Type.String() }),
        response: { 200: RolloutAtSchema },
      },
    },
    async (req) => {
      const r = await deployments.rolloutAt(req.params.name, req.query.at);
      return { deployment: r.deployment, at: isoTime(r.at), rollout: r.rollout };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { since?: string; until?: string; cursor?: string; limit?: number } }>(
    '/deployments/:name/reports',
    {
      schema: {
        summary: "The gateways' served reports whose window ended in [since, until], newest first (a deleted deployment's too)",
        tags: TAGS,
        params: NameParams,
        querystring: Type.Object({
          since: Type.Optional(Type.String({ description: 'ISO time: reports whose window ended at or after it' })),
          until: Type.Optional(Type.String({ description: 'ISO time: reports whose window ended at or before it' })),
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: PageSchema(ServedReportSchema) },
      },
    },
    async (req) => toWirePage(await deployments.listReports(req.params.name, req.query), toWireServed),
  );

  app.get<{ Params: { name: string } }>(
    '/deployments/:name/status',
    {
      schema: {
        summary: 'A deployment, its aliases and rollout, and the latest report of each gateway heard from in the last minute',
        tags: TAGS,
        params: NameParams,
        response: { 200: DeploymentStatusSchema },
      },
    },
    async (req) => {
      const s = await deployments.status(req.params.name);
      return {
        deployment: toWireDeployment(s.deployment),
        aliases: s.aliases,
        rollout: s.rollout && toWireRollout(s.rollout),
        reports: s.reports.map(toWireServed),
      };
    },
  );
}
