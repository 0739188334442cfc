import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CreateVersionBody, PageSchema, UpdateVersionBody, VersionSchema, invalid } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { sendBytes } from './stream-reply.js';
import { toWirePage, toWireVersion } from './wire.js';

const VersionParams = Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1 }) });

export function versionRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Params: { name: string }; Body: CreateVersionBody }>(
    '/models/:name/versions',
    {
      schema: {
        summary: 'Commit a version whose blobs are uploaded (small files may travel inline in `blobs`)',
        tags: ['versions'],
        params: Type.Object({ name: Type.String() }),
        body: CreateVersionBody,
        response: { 201: VersionSchema },
      },
    },
    async (req, reply) => {
      const { version, storedBytes } = await registry.versions.commit(actorOf(req), req.params.name, req.body);
      // With inline blobs: how many of their bytes were new to the server.
      if (storedBytes !== undefined) reply.header('berth-stored-bytes', String(storedBytes));
      return reply.code(201).send(toWireVersion(version));
    },
  );

  app.get<{ Params: { name: string }; Querystring: { cursor?: string; limit?: number; at?: string } }>(
    '/models/:name/versions',
    {
      schema: {
        summary: 'List versions, newest first; with `at`, those created at or before that time',
        tags: ['versions'],
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          at: Type.Optional(Type.String()),
        }),
        response: { 200: PageSchema(VersionSchema) },
      },
    },
    async (req) => toWirePage(await registry.versions.list(req.params.name, req.query), toWireVersion),
  );

  app.get<{ Params: { name: string; version: number } }>(
    '/models/:name/versions/:version',
    { schema: { summary: 'Get a version with its files', tags: ['versions'], params: VersionParams, response: { 200: VersionSchema } } },
    async (req) => toWireVersion(await registry.versions.get(req.params.name, req.params.version, { files: true })),
  );

  app.get<{ Querystring: { ref: string } }>(
    '/resolve',
    {
      schema: {
        summary: 'Resolve a reference (name, name:3, name@alias, name@sha256:…, models:/…)',
        tags: ['versions'],
        querystring: Type.Object({ ref: Type.String() }),
        response: { 200: VersionSchema },
      },
    },
    async (req) => toWireVersion(await registry.versions.resolve(req.query.ref, { files: true })),
  );

  app.patch<{ Params: { name: string; version: number }; Body: UpdateVersionBody }>(
    '/models/:name/versions/:version',
    {
      schema: {
        summary: 'Edit description, metadata or tags of a version',
        tags: ['versions'],
        params: VersionParams,
        body: UpdateVersionBody,
        response: { 200: VersionSchema },
      },
    },
    async (req) => toWireVersion(await registry.versions.update(actorOf(req), req.params.name, req.params.version, req.body)),
  );

  app.delete<{ Params: { name: string; version: number }; Querystring: { force?: boolean } }>(
    '/models/:name/versions/:version',
    {
      schema: {
        summary: 'Delete a version',
        tags: ['versions'],
        params: VersionParams,
        querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await registry.versions.delete(actorOf(req), req.params.name, req.params.version, { force: req.query.force });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { name: string; version: number; '*': string } }>(
    '/models/:name/versions/:version/files/*',
    {
      schema: {
        summary: 'Download one file of a version (Range supported)',
        tags: ['versions'],
        params: Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1 }), '*': Type.String() }),
        bytes: { response: true },
      },
    },
    async (req, reply) => {
      const path = req.params['*'];
      if (!path) throw invalid('give the file path after /files/', { field: 'path' });
      const file = await registry.versions.getFile(req.params.name, req.params.version, path);
      return sendBytes(req, reply, file, (range) => registry.blobs.open(file.sha256, range));
    },
  );
}
