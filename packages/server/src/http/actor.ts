import type { FastifyRequest } from 'fastify';
import { localActor, type Actor } from '../registry/actor.js';

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * The caller. A request with a token (http/auth.ts verified it) is that token: its name is the
 * actor on every audit event, its role and model patterns apply. Without one (allowed only in
 * the single-user loopback default, DESIGN §5) the local user holds every role; `x-berth-actor`
 * only names them in the audit trail. Nothing checks that name, so it is recorded as
 * `self-declared:<name>`: the trail never passes a claim off as an identity.
 */
export function actorOf(request: FastifyRequest, via = 'api'): Actor {
  const t = request.berthToken;
  if (t) return t.scopes ? { name: t.name, roles: t.roles, via, scopes: t.scopes } : { name: t.name, roles: t.roles, via };
  const h = request.headers['x-berth-actor'];
  const name = typeof h === 'string' && NAME.test(h) ? `self-declared:${h}` : 'local';
  return localActor(name, via);
}

/**
 * The name the request log records for a request: who the registry would record as its actor,
 * or `unauthenticated` for a request whose credentials were refused (it was never the local user).
 */
export function actorNameOf(request: FastifyRequest): string {
  if (request.berthToken === null && request.headers.authorization !== undefined) return 'unauthenticated';
  return actorOf(request).name;
}
