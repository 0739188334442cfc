import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { PageSchema, PromotionSchema, ReasonBody, RequestPromotionBody, RollbackBody, invalid } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { toWirePage, toWirePromotion } from './wire.js';

/** The reason of an optional body (approve, reject): the body is validated here, as it may be absent. */
function reasonOf(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  const extra = typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => k !== 'reason') : ['(body)'];
  if (extra.length) throw invalid(`unknown field ${extra[0]}: the body takes only reason`, { field: extra[0] });
  const reason = (body as { reason?: unknown }).reason;
  if (reason !== undefined && reason !== null && typeof reason !== 'string') throw invalid('reason must be a string', { field: 'reason' });
  return reason ?? null;
}

export function promotionRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Params: { name: string }; Body: RequestPromotionBody }>(
    '/models/:name/promotions',
    {
      schema: {
        summary: 'Promote a version to an alias under a policy (201 moved, 202 awaiting approvals, 412 refused with the gate report)',
        tags: ['governance'],
        params: Type.Object({ name: Type.String() }),
        body: RequestPromotionBody,
        response: { 201: PromotionSchema, 202: PromotionSchema },
      },
    },
    async (req, reply) => {
      const p = await registry.promotions.request(actorOf(req), req.params.name, req.body);
      return reply.code(p.state === 'pending' ? 202 : 201).send(toWirePromotion(p));
    },
  );

  app.get<{ Params: { name: string }; Querystring: { alias?: string; state?: string; cursor?: string; limit?: number } }>(
    '/models/:name/promotions',
    {
      schema: {
        summary: 'List the promotions of a model, newest first',
        tags: ['governance'],
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({
          alias: Type.Optional(Type.String()),
          state: Type.Optional(Type.String()),
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: PageSchema(PromotionSchema) },
      },
    },
    async (req) => toWirePage(await registry.promotions.list(req.params.name, req.query), toWirePromotion),
  );

  app.get<{ Querystring: { alias?: string; state?: string; cursor?: string; limit?: number } }>(
    '/promotions',
    {
      schema: {
        summary: 'List the promotions of every model, newest first (state=pending: those awaiting approvals)',
        tags: ['governance'],
        querystring: Type.Object({
          alias: Type.Optional(Type.String()),
          state: Type.Optional(Type.String()),
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: PageSchema(PromotionSchema) },
      },
    },
    async (req) => toWirePage(await registry.promotions.listAll(req.query), toWirePromotion),
  );

  app.get<{ Params: { id: string } }>(
    '/promotions/:id',
    {
      schema: {
        summary: 'Get a promotion with its stored gate report and approvals',
        tags: ['governance'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: PromotionSchema },
      },
    },
    async (req) => toWirePromotion(await registry.promotions.get(req.params.id)),
  );

  for (const op of ['approve', 'reject'] as const) {
    app.post<{ Params: { id: string } }>(
      `/promotions/:id/${op}`,
      {
        schema: {
          summary: op === 'approve' ? 'Approve a pending promotion (the last approval needed moves the alias)' : 'Reject a pending promotion',
          tags: ['governance'],
          params: Type.Object({ id: Type.String() }),
          optionalBody: ReasonBody,
          response: { 200: PromotionSchema },
        },
      },
      async (req) => {
        const reason = reasonOf(req.body);
        const p =
          op === 'approve'
            ? await registry.promotions.approve(actorOf(req), req.params.id, reason)
            : await registry.promotions.reject(actorOf(req), req.params.id, reason);
        return toWirePromotion(p);
      },
    );
  }

  app.post<{ Params: { name: string; alias: string }; Body: RollbackBody }>(
    '/models/:name/aliases/:alias/rollback',
    {
      schema: {
        summary: 'Move an alias back to the version it held before its current holder (alias history)',
        tags: ['governance'],
        params: Type.Object({ name: Type.String(), alias: Type.String() }),
        body: RollbackBody,
        response: { 200: PromotionSchema },
      },
    },
    async (req) => toWirePromotion(await registry.promotions.rollback(actorOf(req), req.params.name, req.params.alias, req.body)),
  );
}
