import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '@berth/core';
import type { TokenIdentity, TokenService } from '../registry/tokens-service.js';
import { isUiRequest } from './web.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token of this request; null when it came without one. */
    berthToken: TokenIdentity | null;
  }
}

export interface AuthOptions {
  tokens: TokenService;
  /**
   * Every request but /healthz must carry a valid token (a non-loopback listener, `--auth`).
   * Otherwise a request without one is the local user; a request with one is still that token.
   */
  required: boolean;
}

/** Answered without a token: load balancers and probes carry none. */
const OPEN_PATHS = new Set(['/healthz']);

/**
 * A part of an MLflow multipart artifact upload. The client PUTs it, without credentials, to
 * the URL `mpu/create` handed out (it treats it like a presigned cloud URL); the 160-bit
 * upload id in it, created by an authenticated editor, is what authorises the part.
 */
const MPU_PART = /^\/(?:ajax-)?api\/2\.0\/mlflow-artifacts\/mpu\/part\//;

/**
 * A Hub LFS upload link (http/hub/upload-routes.ts): both Hub clients PUT to it without
 * credentials; the upload session in it, opened by an authenticated editor for exactly the
 * objects it may carry and for a short time, is what authorises the bytes.
 */
const HUB_LFS_UPLOAD = /^\/[^/?]+\/[^/?]+\.git\/info\/lfs\/objects\/upload\//;

/**
 * The secret in an Authorization header: `Bearer <token>` (every client, MLflow's
 * MLFLOW_TRACKING_TOKEN), or `Basic` with the token as the password and any user name
 * (MLflow's MLFLOW_TRACKING_USERNAME/PASSWORD, `curl -u`). undefined: neither.
 */
function credential(header: string): string | undefined {
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value;
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function unauthenticated(reply: FastifyReply, message: string): BerthError {
  reply.header('www-authenticate', 'Bearer realm="berth"');
  return new BerthError('UNAUTHENTICATED', message, {});
}

const INVALID = 'the token is not valid: it is unknown, revoked or expired (berth token ls shows the tokens an admin has made)';

/**
 * Authenticates every request (docs/decisions/0013). An unknown, revoked or expired token is
 * always 401, never the local user. A callback hook, not an async one: it runs on every
 * request, and a known token is answered from the token cache without a promise.
 */
export function authentication(app: FastifyInstance, opts: AuthOptions): void {
  app.decorateRequest('berthToken', null);
  app.addHook('onRequest', (req: FastifyRequest, reply, done) => {
    const header = req.headers.authorization;
    if (header === undefined) {
      if (
        !opts.required ||
        OPEN_PATHS.has(req.url) ||
        isUiRequest(req.method, req.url) ||
        (req.method === 'PUT' && (MPU_PART.test(req.url) || HUB_LFS_UPLOAD.test(req.url)))
      )
        return done();
      return done(
        unauthenticated(reply, 'this server requires a token: send Authorization: Bearer <token> (berth --token, BERTH_TOKEN, MLFLOW_TRACKING_TOKEN)'),
      );
    }
    if (OPEN_PATHS.has(req.url)) return done();
    const secret = credential(header);
    if (secret === undefined) return done(unauthenticated(reply, 'the Authorization header must be Bearer <token>, or Basic with the token as the password'));
    const found = opts.tokens.identify(secret);
    if (found === null) return done(unauthenticated(reply, INVALID));
    if (!(found instanceof Promise)) {
      req.berthToken = found;
      return done();
    }
    found.then(
      (identity) => {
        if (identity === null) return done(unauthenticated(reply, INVALID));
        req.berthToken = identity;
        done();
      },
      (err: unknown) => done(err as Error),
    );
  });
}
