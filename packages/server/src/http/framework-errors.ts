import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, type ErrorCode } from '@berth/core';
import { sendError } from './errors.js';
import { MLFLOW_ERROR, MlflowError, sendMlflowError } from './mlflow/errors.js';
import { isHubPath, notFoundMessage, sendHubError } from './hub/index.js';

/** The MLflow fronts (REST and artifact proxy, with and without `ajax-`): they answer in MLflow's shape. */
const MLFLOW_PATH = /^\/(?:ajax-)?api\/2\.0\/mlflow(?:-artifacts)?(?:[/?]|$)/;

export const isMlflowPath = (url: string): boolean => MLFLOW_PATH.test(url);

/**
 * What Fastify answers before a route runs — an unknown route anywhere, a parameter over
 * `maxParamLength` (414), a URL it cannot decode (400) — in the shape of the front the URL
 * belongs to. The status is kept: a 414 stays a 414.
 */
export function sendFrameworkError(req: FastifyRequest, reply: FastifyReply, err: FastifyError): FastifyReply {
  const status = err.statusCode ?? 400;
  // Answered before the hooks that mark every answer as Berth's.
  reply.header('berth-api', '1');
  if (isMlflowPath(req.url)) {
    const code = status === 404 ? 'ENDPOINT_NOT_FOUND' : 'INVALID_PARAMETER_VALUE';
    return sendMlflowError(req, reply, new MlflowError(code, status, err.message));
  }
  if (isHubPath(req.url)) {
    const message = status === 404 ? notFoundMessage(req.method, req.url) : err.message;
    return sendHubError(req, reply, Object.assign(new Error(message), { statusCode: status }), status);
  }
  return sendError(req, reply, err, status);
}

export function sendRouteNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = Object.assign(new Error(`no route ${req.method} ${req.url}: the native API is under /api/v1 (GET /api/v1/openapi.json)`), { statusCode: 404 });
  return sendFrameworkError(req, reply, err as FastifyError);
}

/** Node's own refusals, raised before any request object exists (`clientError` on the server). */
const CLIENT_ERRORS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'the request line and headers are over 16 KiB: shorten the URL or the headers',
  },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'INVALID_ARGUMENT', message: 'the request did not arrive in time' },
};

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the bytes (headers too large, a
 * wrong Content-Length, broken framing). There is no request yet, so the front is read from
 * the request line when the parser kept it, and the answer is written to the socket by hand
 * in that front's shape. A connection the client already dropped is left alone.
 */
export function clientErrorHandler(this: { log: FastifyBaseLogger }, err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = err.code ? CLIENT_ERRORS[err.code] : undefined;
  const status = known?.status ?? 400;
  const code = known?.code ?? 'INVALID_ARGUMENT';
  const message = known?.message ?? `the request is not valid HTTP (${err.code ?? 'unreadable'}): check its Content-Length and framing`;
  const packet = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1', 0, 256) : '';
  const target = /^[A-Z]+ (\S+)/.exec(packet)?.[1] ?? '/';
  const body = JSON.stringify(isMlflowPath(target) ? { error_code: MLFLOW_ERROR[code].code, message } : new BerthError(code, message, {}).toJSON());
  this.log.debug({ code: err.code }, 'refused a request Node could not parse');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nberth-api: 1\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };
