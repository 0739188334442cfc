import type { FastifyReply, FastifyRequest } from 'fastify';
import { HTTP_STATUS } from '@berth/core';
import { clientGone, toBerthError } from '../errors.js';

/**
 * The Hub clients pick their exception from `X-Error-Code`, not from the status
 * (huggingface_hub `utils/_http.py` hf_raise_for_status; @huggingface/hub `downloadFile`):
 * a 404 without it on a `/resolve` HEAD reads as "Hub unreachable". The registry names what
 * was missing (`details.missing`, registry/hub-service.ts); any other error keeps Berth's code.
 */
const MISSING_CODE: Record<string, string> = { repo: 'RepoNotFound', revision: 'RevisionNotFound', entry: 'EntryNotFound' };

/** Header values are Latin-1 without control characters; a path echoed in a message may be neither. */
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000);

/** `extra`: more fields of the JSON body (create-repo's 409 carries the repo's `url`, which `exist_ok` reads). */
export function sendHubError(request: FastifyRequest, reply: FastifyReply, err: unknown, status?: number, extra: Record<string, unknown> = {}): FastifyReply {
  const be = toBerthError(err, String(request.id));
  if (be.code === 'INTERNAL' && clientGone(request, err)) return reply.code(400).send();
  if (be.code === 'INTERNAL') request.log.error({ err }, 'internal error');
  else request.log.info({ code: be.code, msg: be.message }, 'request refused');
  const missing = be.details.missing;
  const code = typeof missing === 'string' ? (MISSING_CODE[missing] ?? be.code) : be.code;
  if (typeof be.details.commit === 'string') reply.header('x-repo-commit', be.details.commit);
  return reply
    .code(status ?? HTTP_STATUS[be.code])
    .header('x-error-code', code)
    .header('x-error-message', headerSafe(be.message))
    .type('application/json; charset=utf-8')
    .send({ error: be.message, ...extra });
}
