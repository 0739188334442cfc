import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CreateModelBody, ModelSchema, PageSchema, UpdateModelBody, ModelAtSchema } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { toWireModel, toWireModelAt, toWirePage } from './wire.js';

const NameParams = Type.Object({ name: Type.String() });

export function modelRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Body: CreateModelBody }>(
    '/models',
    { schema: { summary: 'Create a model', tags: ['models'], body: CreateModelBody, response: { 201: ModelSchema } } },
    async (req, reply) => reply.code(201).send(toWireModel(await registry.models.create(actorOf(req), req.body))),
  );

  app.get<{ Querystring: { cursor?: string; limit?: number; kind?: string; prefix?: string } }>(
    '/models',
    {
      schema: {
        summary: 'List models by name',
        tags: ['models'],
        querystring: Type.Object({
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          kind: Type.Optional(Type.String()),
          prefix: Type.Optional(Type.String()),
        }),
        response: { 200: PageSchema(ModelSchema) },
      },
    },
    async (req) => toWirePage(await registry.models.list(req.query), toWireModel),
  );

  app.get<{ Params: { name: string } }>(
    '/models/:name',
    { schema: { summary: 'Get a model', tags: ['models'], params: NameParams, response: { 200: ModelSchema } } },
    async (req) => toWireModel(await registry.models.get(req.params.name)),
  );

  app.patch<{ Params: { name: string }; Body: UpdateModelBody }>(
    '/models/:name',
    { schema: { summary: 'Edit, rename or re-protect a model', tags: ['models'], params: NameParams, body: UpdateModelBody, response: { 200: ModelSchema } } },
    async (req) => toWireModel(await registry.models.update(actorOf(req), req.params.name, req.body)),
  );

  app.delete<{ Params: { name: string }; Querystring: { force?: boolean } }>(
    '/models/:name',
    {
      schema: {
        summary: 'Delete a model',
        tags: ['models'],
        params: NameParams,
        querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await registry.models.delete(actorOf(req), req.params.name, { force: req.query.force });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { name: string }; Querystring: { t: string } }>(
    '/models/:name/at',
    {
      schema: {
        summary: 'The model as it was at a point in time',
        tags: ['time travel'],
        params: NameParams,
        querystring: Type.Object({ t: Type.String() }),
        response: { 200: ModelAtSchema },
      },
    },
    async (req) => toWireModelAt(await registry.aliases.modelAt(req.params.name, req.query.t)),
  );
}
