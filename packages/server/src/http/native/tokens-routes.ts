import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CreateTokenBody, CreatedTokenSchema, TOKEN_ROLES, TokenSchema, WhoAmISchema, isoTime, type Token, type TokenRole, type WhoAmI } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import type { TokenView } from '../../registry/tokens-service.js';
import { actorOf } from '../actor.js';

function toWireToken(t: TokenView): Token {
  return {
    name: t.name,
    role: t.role as TokenRole,
    models: t.models,
    expires_at: t.expires_at === null ? null : isoTime(t.expires_at),
    created_by: t.created_by,
    created_at: isoTime(t.created_at),
    revoked_at: t.revoked_at === null ? null : isoTime(t.revoked_at),
    revoked_by: t.revoked_by,
  };
}

export function tokenRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Body: CreateTokenBody }>(
    '/tokens',
    {
      schema: {
        summary: 'Create a bearer token (admin); the token is in this answer only',
        tags: ['tokens'],
        body: CreateTokenBody,
        response: { 201: CreatedTokenSchema },
      },
    },
    async (req, reply) => {
      const { record, token } = await registry.tokens.create(actorOf(req), req.body);
      const { revoked_at: _r, revoked_by: _b, ...wire } = toWireToken(record);
      return reply.code(201).send({ ...wire, token });
    },
  );

  app.get(
    '/tokens',
    {
      schema: {
        summary: 'Tokens, revoked ones too, never their secrets (admin)',
        tags: ['tokens'],
        response: { 200: Type.Object({ items: Type.Array(TokenSchema) }) },
      },
    },
    async (req) => ({ items: (await registry.tokens.list(actorOf(req))).map(toWireToken) }),
  );

  app.delete<{ Params: { name: string }; Querystring: { reason?: string } }>(
    '/tokens/:name',
    {
      schema: {
        summary: 'Revoke a token (admin); it is kept, revoked, for the audit trail',
        tags: ['tokens'],
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }),
        response: { 200: TokenSchema },
      },
    },
    async (req) => toWireToken(await registry.tokens.revoke(actorOf(req), req.params.name, req.query.reason)),
  );

  app.get(
    '/whoami',
    { schema: { summary: 'Who the server takes the caller for', tags: ['tokens'], response: { 200: WhoAmISchema } } },
    async (req): Promise<WhoAmI> => {
      const actor = actorOf(req);
      return {
        name: actor.name,
        roles: TOKEN_ROLES.filter((r) => actor.roles.has(r)),
        models: actor.scopes ? [...actor.scopes] : null,
        via: actor.via,
        authenticated: req.berthToken !== null,
      };
    },
  );
}
