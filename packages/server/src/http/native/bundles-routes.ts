import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CreateBundleBody, LINEAGE_DIRECTIONS, LineageEntrySchema, PageSchema, VersionSchema, type LineageDirection } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { toWireVersion } from './wire.js';

const VersionParams = Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }) });

/** Bundles and lineage (docs/decisions/0017). */
export function bundleRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Params: { name: string }; Body: CreateBundleBody }>(
    '/models/:name/bundles',
    {
      schema: {
        summary: 'Commit a bundle version: components pinned as name:N or name@sha256:…, written into berth-bundle.json',
        tags: ['versions'],
        params: Type.Object({ name: Type.String() }),
        body: CreateBundleBody,
        response: { 201: VersionSchema },
      },
    },
    async (req, reply) => reply.code(201).send(toWireVersion(await registry.bundles.create(actorOf(req), req.params.name, req.body))),
  );

  app.get<{ Params: { name: string; version: number }; Querystring: { direction?: LineageDirection; cursor?: string; limit?: number } }>(
    '/models/:name/versions/:version/lineage',
    {
      schema: {
        summary: 'What a version pins (direction=uses) or what pins it (direction=used-by, paginated)',
        tags: ['versions'],
        params: VersionParams,
        querystring: Type.Object({
          direction: Type.Optional(Type.Union(LINEAGE_DIRECTIONS.map((d) => Type.Literal(d)))),
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: PageSchema(LineageEntrySchema) },
      },
    },
    async (req) => registry.bundles.lineage(req.params.name, req.params.version, req.query.direction ?? 'uses', req.query),
  );
}
