import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, HTTP_STATUS } from '@berth/core';

/**
 * Turns anything thrown in a native route into the error shape of DESIGN §4. Foreign errors
 * (Fastify's validation and body errors) are translated once, here; an unknown error becomes
 * INTERNAL with the request id and no internal text.
 */
export function toBerthError(err: unknown, requestId: string): BerthError {
  if (err instanceof BerthError) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (e?.validation) {
    const first = e.validation[0];
    const where = `${e.validationContext ?? 'request'}${first?.instancePath ?? ''}`;
    let message = `${where} ${first?.message ?? 'is invalid'}`;
    if (first?.keyword === 'additionalProperties') {
      message = `${where} has unknown field ${JSON.stringify((first.params as { additionalProperty?: string }).additionalProperty)}: remove it (see GET /api/v1/openapi.json)`;
    }
    return new BerthError('INVALID_ARGUMENT', message, { field: where });
  }
  const status = e?.statusCode;
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return new BerthError('PAYLOAD_TOO_LARGE', 'the request body is over the configured limit (--body-limit / BERTH_BODY_LIMIT)', {});
  }
  if (status === 414 || status === 431) return new BerthError('PAYLOAD_TOO_LARGE', e.message, {});
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 404) return new BerthError('NOT_FOUND', e.message, {});
    return new BerthError('INVALID_ARGUMENT', e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? `unsupported content type: send application/json` : e.message, {});
  }
  return new BerthError('INTERNAL', `internal error; request id ${requestId}`, { request_id: requestId });
}

/**
 * Whether the client went away before the answer: its upload stream then fails with
 * "aborted" or a premature close. That is the client's doing, not an internal error, and
 * nobody is left to answer.
 */
export function clientGone(request: FastifyRequest, err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return request.raw.aborted || request.raw.socket?.destroyed === true || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Answers in Berth's shape; `status` keeps an HTTP status the code's own would hide (414, 431). */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown, status?: number): FastifyReply {
  const be = toBerthError(err, String(request.id));
  if (be.code === 'INTERNAL' && clientGone(request, err)) {
    request.log.info({ msg: (err as Error)?.message }, 'client closed the connection before the answer');
    return reply.code(400).send();
  }
  if (be.code === 'INTERNAL') request.log.error({ err }, 'internal error');
  else request.log.info({ code: be.code, msg: be.message }, 'request refused');
  return reply
    .code(status ?? HTTP_STATUS[be.code])
    .type('application/json; charset=utf-8')
    .send(be.toJSON());
}
