import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AuditEventSchema, GcBody, GcResultSchema, PageSchema, ChainVerdictSchema, CreateRunBody, LogRunBody, RunSchema } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { toWireAudit, toWirePage, toWireRun } from './wire.js';

export function auditRoutes(app: FastifyInstance, registry: Registry): void {
  app.get<{ Querystring: { model?: string; action?: string; actor?: string; since?: string; until?: string; cursor?: string; limit?: number } }>(
    '/audit',
    {
      schema: {
        summary: 'The audit trail, oldest first',
        tags: ['audit'],
        querystring: Type.Object({
          model: Type.Optional(Type.String()),
          action: Type.Optional(Type.String({ maxLength: 128 })),
          actor: Type.Optional(Type.String({ maxLength: 256 })),
          since: Type.Optional(Type.String()),
          until: Type.Optional(Type.String()),
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: PageSchema(AuditEventSchema) },
      },
    },
    async (req) => toWirePage(await registry.audit.list(req.query), toWireAudit),
  );

  app.get(
    '/audit/verify',
    { schema: { summary: 'Verify the hash chain of the audit trail', tags: ['audit'], response: { 200: ChainVerdictSchema } } },
    async () => registry.audit.verify(),
  );

  app.post<{ Body: GcBody | undefined }>(
    '/gc',
    { schema: { summary: 'Remove unreferenced blobs past a grace period', tags: ['admin'], optionalBody: GcBody, response: { 200: GcResultSchema } } },
    async (req) => registry.gc.run(actorOf(req), (req.body ?? {}) as GcBody),
  );

  app.post<{ Body: CreateRunBody }>(
    '/runs',
    { schema: { summary: 'Create a run', tags: ['runs'], body: CreateRunBody, response: { 201: RunSchema } } },
    async (req, reply) => reply.code(201).send(toWireRun(await registry.runs.create(actorOf(req), req.body))),
  );

  app.get<{ Params: { run_id: string } }>(
    '/runs/:run_id',
    { schema: { summary: 'Get a run', tags: ['runs'], params: Type.Object({ run_id: Type.String() }), response: { 200: RunSchema } } },
    async (req) => toWireRun(await registry.runs.get(req.params.run_id)),
  );

  app.post<{ Params: { run_id: string }; Body: LogRunBody }>(
    '/runs/:run_id/log',
    {
      schema: {
        summary: 'Log params, metrics, tags, datasets or status to a run',
        tags: ['runs'],
        params: Type.Object({ run_id: Type.String() }),
        body: LogRunBody,
        response: { 200: RunSchema },
      },
    },
    async (req) => toWireRun(await registry.runs.log(actorOf(req), req.params.run_id, req.body)),
  );
}
