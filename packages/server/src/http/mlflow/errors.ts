import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, clipEcho, type ErrorCode } from '@berth/core';
import { clientGone } from '../errors.js';

/**
 * MLflow's error shape `{error_code, message}` with MLflow's statuses (mlflow/exceptions.py).
 * Never a 5xx for a caller's mistake: the MLflow client retries 5xx answers for minutes.
 */
export const MLFLOW_ERROR: { readonly [K in ErrorCode]: { code: string; status: number } } = {
  INVALID_ARGUMENT: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  UNAUTHENTICATED: { code: 'UNAUTHENTICATED', status: 401 },
  PERMISSION_DENIED: { code: 'PERMISSION_DENIED', status: 403 },
  NOT_FOUND: { code: 'RESOURCE_DOES_NOT_EXIST', status: 404 },
  ALREADY_EXISTS: { code: 'RESOURCE_ALREADY_EXISTS', status: 400 },
  CONFLICT: { code: 'RESOURCE_CONFLICT', status: 409 },
  FAILED_PRECONDITION: { code: 'RESOURCE_CONFLICT', status: 409 },
  PAYLOAD_TOO_LARGE: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  INTERNAL: { code: 'INTERNAL_ERROR', status: 500 },
};

export class MlflowError extends Error {
  constructor(
    readonly errorCode: string,
    readonly status: number,
    message: string,
  ) {
    super(clipEcho(message));
  }
}

export function sendMlflowError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof MlflowError) return reply.code(err.status).send({ error_code: err.errorCode, message: err.message });
  if (err instanceof BerthError) {
    const m = MLFLOW_ERROR[err.code];
    if (err.code === 'INTERNAL' && clientGone(request, err)) return reply.code(400).send();
    if (err.code === 'INTERNAL') request.log.error({ err }, 'internal error');
    return reply.code(m.status).send({ error_code: m.code, message: err.message });
  }
  const e = err as { statusCode?: number; message?: string; code?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return reply.code(400).send({ error_code: 'INVALID_PARAMETER_VALUE', message: e.message ?? 'bad request' });
  }
  if (clientGone(request, err)) {
    request.log.info({ msg: (err as Error)?.message }, 'client closed the connection before the answer');
    return reply.code(400).send();
  }
  request.log.error({ err }, 'internal error');
  return reply.code(500).send({ error_code: 'INTERNAL_ERROR', message: `internal error; request id ${request.id}` });
}
