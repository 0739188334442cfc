import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ApplyPolicyBody, PageSchema, PolicySchema } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { toWirePage, toWirePolicy } from './wire.js';

export function policyRoutes(app: FastifyInstance, registry: Registry): void {
  app.put<{ Params: { name: string }; Body: ApplyPolicyBody }>(
    '/policies/:name',
    {
      schema: {
        summary: 'Apply a policy (YAML): stored as its next version unless unchanged',
        tags: ['governance'],
        params: Type.Object({ name: Type.String() }),
        body: ApplyPolicyBody,
        response: { 200: PolicySchema },
      },
    },
    async (req) => toWirePolicy(await registry.policies.apply(actorOf(req), req.params.name, req.body.yaml)),
  );

  app.get<{ Querystring: { cursor?: string; limit?: number } }>(
    '/policies',
    {
      schema: {
        summary: 'List policies (the latest version of each), by name',
        tags: ['governance'],
        querystring: Type.Object({ cursor: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: { 200: PageSchema(PolicySchema) },
      },
    },
    async (req) => toWirePage(await registry.policies.list(req.query), toWirePolicy),
  );

  app.get<{ Params: { name: string }; Querystring: { version?: number } }>(
    '/policies/:name',
    {
      schema: {
        summary: 'Get a policy: its latest version, or the version asked for',
        tags: ['governance'],
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
        response: { 200: PolicySchema },
      },
    },
    async (req) => toWirePolicy(await registry.policies.get(req.params.name, req.query.version)),
  );
}
