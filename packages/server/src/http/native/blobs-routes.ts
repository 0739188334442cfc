import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { OpenUploadBody, OpenUploadResultSchema, PutBlobResultSchema, UploadBlobStateSchema, invalid, notFound } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { sendBytes } from './stream-reply.js';
import { toWireUpload } from './wire.js';

const ShaParams = Type.Object({ sha256: Type.String() });
const UploadBlobParams = Type.Object({ upload_id: Type.String(), sha256: Type.String() });
const PutBlobQuery = Type.Object({
  upload_id: Type.Optional(Type.String({ description: 'Makes the upload resumable: a body cut off leaves its bytes to this open upload session' })),
});
const PutBlobHeaders = Type.Object({
  'content-range': Type.Optional(
    Type.String({ description: '`bytes <start>-<last>/<size>`: the body continues the bytes the session holds (start) to the end of the blob' }),
  ),
});

/** `Content-Range: bytes start-last/size` of a resumed PUT; the body runs from `start` to the blob's last byte. */
function parseContentRange(header: string, bodyLength: number | undefined): { offset: number; size: number } {
  const m = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/.exec(header);
  const [start, last, size] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (start === undefined || last === undefined || size === undefined || start > last || last !== size - 1)
    throw invalid('content-range must be "bytes <start>-<size - 1>/<size>": a resumed upload runs to the end of the blob', { field: 'content-range' });
  if (bodyLength !== undefined && bodyLength !== last - start + 1)
    throw invalid(`content-range covers ${last - start + 1} bytes but content-length is ${bodyLength}`, { field: 'content-range' });
  return { offset: start, size };
}

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

  app.get<{ Params: { upload_id: string; sha256: string } }>(
    '/uploads/:upload_id/blobs/:sha256',
    {
      schema: {
        summary: 'How many bytes of a blob an upload session holds (resume from offset)',
        tags: ['uploads'],
        params: UploadBlobParams,
        response: { 200: UploadBlobStateSchema },
      },
    },
    async (req) => registry.blobs.uploadState(req.params.upload_id, req.params.sha256),
  );

  // Blob bodies are raw bytes: this scope hands the request stream to the handler unread, and
  // the blob store hashes it on the fly while it streams to disk.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.put<{ Params: { sha256: string }; Querystring: { upload_id?: string }; Headers: { 'content-range'?: string } }>(
      '/blobs/:sha256',
      {
        schema: {
          summary: 'Upload one blob (raw bytes, streamed, verified against its sha256); resumable within an upload session',
          tags: ['uploads'],
          params: ShaParams,
          querystring: PutBlobQuery,
          headers: PutBlobHeaders,
          bytes: { request: true },
          response: { 200: PutBlobResultSchema, 201: PutBlobResultSchema },
        },
      },
      async (req, reply) => {
        const len = req.headers['content-length'];
        const bodyLength = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
        const { upload_id } = req.query;
        const range = req.headers['content-range'];
        if (range !== undefined && upload_id === undefined)
          throw invalid('content-range resumes an upload and needs the upload_id of its session', { field: 'upload_id' });
        const resumed = range === undefined ? undefined : parseContentRange(range, bodyLength);
        const expected = resumed ? resumed.size : bodyLength;
        const session = upload_id === undefined ? undefined : { upload_id, offset: resumed?.offset };
        const result = await registry.blobs.put(actorOf(req), req.params.sha256, req.raw, expected, session);
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
