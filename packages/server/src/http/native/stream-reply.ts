import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { parseRange } from '../range.js';

/** Streams stored bytes with Range support; memory stays flat whatever the size. */
export async function sendBytes(
  request: FastifyRequest,
  reply: FastifyReply,
  file: { size: number; sha256: string },
  open: (range?: { start: number; end: number }) => Promise<{ stream: Readable }>,
): Promise<FastifyReply> {
  const range = parseRange(request.headers.range, file.size);
  reply.header('accept-ranges', 'bytes').header('x-berth-sha256', file.sha256).header('etag', `"${file.sha256}"`).type('application/octet-stream');
  if (range === 'unsatisfiable') {
    return reply
      .code(416)
      .header('content-range', `bytes */${file.size}`)
      .type('application/json; charset=utf-8')
      .send({
        error: { code: 'INVALID_ARGUMENT', message: `range ${request.headers.range} is outside the file's ${file.size} bytes`, details: { size: file.size } },
      });
  }
  if (request.method === 'HEAD') {
    reply.header('content-length', file.size);
    return reply.code(200).send();
  }
  if (range) {
    const { stream } = await open(range);
    reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
      .header('content-length', range.end - range.start + 1);
    return reply.send(stream);
  }
  const { stream } = await open();
  reply.code(200).header('content-length', file.size);
  return reply.send(stream);
}
