import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  AliasAtSchema,
  AliasHistoryEntrySchema,
  AliasSchema,
  MoveAliasesBody,
  PageSchema,
  ReasonBody,
  SetAliasBody,
  VersionSchema,
  invalid,
} from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { toWireAlias, toWireAliasAt, toWireHistory, toWirePage, toWireVersion } from './wire.js';

const AliasParams = Type.Object({ name: Type.String(), alias: Type.String() });

/** `expect` in a query string: a version number, or `none` / empty for "believed unset". */
function parseExpect(raw: string | undefined): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === '' || raw === 'none' || raw === 'null') return null;
  if (!/^[1-9][0-9]{0,9}$/.test(raw)) throw invalid(`expect must be a version number or 'none', not ${JSON.stringify(raw)}`, { field: 'expect' });
  return Number(raw);
}

export function aliasRoutes(app: FastifyInstance, registry: Registry): void {
  // The registry hands back the same object while its answer is memoised; keep that object's
  // serialisation too, so a hit skips the mapping and the serializer. Same bytes as the
  // response schema gives.
  const serialized = new WeakMap<object, string>();

  app.get<{ Params: { name: string } }>(
    '/models/:name/aliases',
    {
      schema: {
        summary: 'List the aliases of a model',
        tags: ['aliases'],
        params: Type.Object({ name: Type.String() }),
        response: { 200: Type.Object({ items: Type.Array(AliasSchema) }) },
      },
    },
    async (req) => ({ items: (await registry.aliases.list(req.params.name)).map(toWireAlias) }),
  );

  app.get<{ Params: { name: string; alias: string } }>(
    '/models/:name/aliases/:alias',
    { schema: { summary: 'Resolve an alias to the version it points at', tags: ['aliases'], params: AliasParams, response: { 200: VersionSchema } } },
    async (req, reply) => {
      const v = await registry.versions.resolveAlias(req.params.name, req.params.alias);
      let body = serialized.get(v);
      if (body === undefined) {
        body = reply.serialize(toWireVersion(v)) as string;
        serialized.set(v, body);
      }
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.put<{ Params: { name: string; alias: string }; Body: SetAliasBody }>(
    '/models/:name/aliases/:alias',
    {
      schema: {
        summary: 'Set or move an alias (compare-and-swap with expect)',
        tags: ['aliases'],
        params: AliasParams,
        body: SetAliasBody,
        response: { 200: AliasSchema },
      },
    },
    async (req) => toWireAlias(await registry.aliases.set(actorOf(req), req.params.name, req.params.alias, req.body)),
  );

  app.delete<{ Params: { name: string; alias: string }; Querystring: { expect?: string; reason?: string } }>(
    '/models/:name/aliases/:alias',
    {
      schema: {
        summary: 'Delete an alias',
        tags: ['aliases'],
        params: AliasParams,
        querystring: Type.Object({ expect: Type.Optional(Type.String()), reason: Type.Optional(Type.String()) }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await registry.aliases.delete(actorOf(req), req.params.name, req.params.alias, { expect: parseExpect(req.query.expect), reason: req.query.reason });
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { name: string }; Body: MoveAliasesBody }>(
    '/models/:name/aliases::batch',
    {
      schema: {
        summary: 'Move several aliases atomically: all or none',
        tags: ['aliases'],
        params: Type.Object({ name: Type.String() }),
        body: MoveAliasesBody,
        response: { 200: Type.Object({ items: Type.Array(AliasSchema) }) },
      },
    },
    async (req) => ({ items: (await registry.aliases.move(actorOf(req), req.params.name, req.body.moves, req.body.reason)).map(toWireAlias) }),
  );

  for (const op of ['freeze', 'unfreeze'] as const) {
    app.post<{ Params: { name: string; alias: string }; Body: ReasonBody | undefined }>(
      `/models/:name/aliases/:alias/${op}`,
      {
        schema: {
          summary: `${op === 'freeze' ? 'Freeze' : 'Unfreeze'} an alias`,
          tags: ['aliases'],
          params: AliasParams,
          optionalBody: ReasonBody,
          response: { 200: AliasSchema },
        },
      },
      async (req) =>
        toWireAlias(
          await registry.aliases.setFrozen(
            actorOf(req),
            req.params.name,
            req.params.alias,
            op === 'freeze',
            (req.body as { reason?: string } | undefined)?.reason,
          ),
        ),
    );
  }

  app.get<{ Params: { name: string; alias: string }; Querystring: { cursor?: string; limit?: number } }>(
    '/models/:name/aliases/:alias/history',
    {
      schema: {
        summary: 'Every move of an alias, oldest first',
        tags: ['aliases'],
        params: AliasParams,
        querystring: Type.Object({ cursor: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: { 200: PageSchema(AliasHistoryEntrySchema) },
      },
    },
    async (req) => toWirePage(await registry.aliases.history(req.params.name, req.params.alias, req.query), toWireHistory),
  );

  app.get<{ Querystring: { t: string; ref: string } }>(
    '/at',
    {
      schema: {
        summary: 'Which version an alias pointed to at a point in time',
        tags: ['time travel'],
        querystring: Type.Object({ t: Type.String(), ref: Type.String() }),
        response: { 200: AliasAtSchema },
      },
    },
    async (req) => toWireAliasAt(await registry.aliases.at(req.query.ref, req.query.t)),
  );
}
