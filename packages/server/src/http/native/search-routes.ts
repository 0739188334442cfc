import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isoTime, CatalogAtPageSchema, SearchPageSchema, SearchQuerySchema, type CatalogAtPage, type SearchPage, type SearchQueryParams } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { toWireModel, toWireVersion } from './wire.js';

export function searchRoutes(app: FastifyInstance, registry: Registry): void {
  app.get<{ Querystring: SearchQueryParams }>(
    '/search',
    {
      schema: {
        summary: 'Search models or versions (name:, tag:, meta.<field>=, alias:, kind:, words; AND, OR, parentheses)',
        tags: ['search'],
        querystring: SearchQuerySchema,
        response: { 200: SearchPageSchema },
      },
    },
    async (req): Promise<SearchPage> => {
      const r = await registry.catalog.search(req.query);
      return r.kind === 'models'
        ? { kind: r.kind, models: r.page.items.map(toWireModel), next_cursor: r.page.next_cursor }
        : { kind: r.kind, versions: r.page.items.map((v) => ({ ...toWireVersion(v), model_kind: v.model_kind })), next_cursor: r.page.next_cursor };
    },
  );

  app.get<{ Querystring: { at: string; cursor?: string; limit?: number } }>(
    '/catalog',
    {
      schema: {
        summary: 'The models that existed at a past time, with their aliases then',
        tags: ['time travel'],
        querystring: Type.Object({
          at: Type.String(),
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: CatalogAtPageSchema },
      },
    },
    async (req): Promise<CatalogAtPage> => {
      const r = await registry.catalog.at(req.query.at, req.query);
      return { at: isoTime(r.at), items: r.page.items, next_cursor: r.page.next_cursor };
    },
  );
}
