import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { OpenUploadBody, OpenUploadResultSchema, PutBlobResultSchema, notFound } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { sendBytes } from './stream-reply.js';
import { toWireUpload } from './wire.js';

const ShaParams = Type.Object({ sha256: Type.String() });

export function blobRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Body: OpenUploadBody }>(
    '/uploads',
    {
      schema: {
        summary: 'Open an upload session: which blobs are missing?',
        tags: ['uploads'],
        body: OpenUploadBody,
        response: { 201: OpenUploadResultSchema },
      },
    },
    async (req, reply) => reply.code(201).send(toWireUpload(await registry.blobs.openUpload(actorOf(req), req.body.files))),
  );

  // Blob bodies are raw bytes: this scope hands the request stream to the handler unread, and
  // the blob store hashes it on the fly while it streams to disk.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.put<{ Params: { sha256: string } }>(
      '/blobs/:sha256',
      {
        schema: {
          summary: 'Upload one blob (raw bytes, streamed, verified against its sha256)',
          tags: ['uploads'],
          params: ShaParams,
          bytes: { request: true },
          response: { 200: PutBlobResultSchema, 201: PutBlobResultSchema },
        },
      },
      async (req, reply) => {
        const len = req.headers['content-length'];
        const expected = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
        const result = await registry.blobs.put(actorOf(req), req.params.sha256, req.raw, expected);
        return reply.code(result.created ? 201 : 200).send(result);
      },
    );
  });

  app.route<{ Params: { sha256: string } }>({
    method: ['GET', 'HEAD'],
    url: '/blobs/:sha256',
    exposeHeadRoute: false,
    schema: { summary: 'Download a blob (Range supported)', tags: ['uploads'], params: ShaParams, bytes: { response: true } },
    handler: async (req, reply) => {
      const info = await registry.blobs.stat(req.params.sha256);
      if (!info) throw notFound(`blob ${req.params.sha256} not found`, { sha256: req.params.sha256 });
      return sendBytes(req, reply, { size: info.size, sha256: info.sha256 }, (range) => registry.blobs.open(info.sha256, range));
    },
  });
}
