import type { FastifyRequest } from 'fastify';
import { localActor, type Actor } from '../registry/actor.js';

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * The caller. Without tokens (the single-user loopback default, DESIGN §5) the local user
 * holds every role; `x-berth-actor` only names them in the audit trail. Nothing checks that
 * name, so it is recorded as `self-declared:<name>`: the trail never passes a claim off as an
 * identity (tokens, when they come, record who was verified).
 */
export function actorOf(request: FastifyRequest, via = 'api'): Actor {
  const h = request.headers['x-berth-actor'];
  const name = typeof h === 'string' && NAME.test(h) ? `self-declared:${h}` : 'local';
  return localActor(name, via);
}

/** The name the request log records for a request: who the registry would record as its actor. */
export function actorNameOf(request: FastifyRequest): string {
  return actorOf(request).name;
}
