import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BerthError } from '@berth/core';

/**
 * Browser safety for every front: what a web page the user visits can make their browser send
 * to a Berth on their machine or network. Two ways in are closed here (docs/api.md "Browser safety"):
 *
 * - Cross-site requests. A page may send, without asking first (CORS preflight), a POST with a
 *   form or text/plain body, and Berth grants no cross-origin request. So a POST must carry a
 *   non-simple content type (JSON, octet-stream) or a bearer token, and any state-changing
 *   request that names its `Origin` must come from an origin this server allows. PUT, PATCH and
 *   DELETE always preflight, so they need no content-type rule (and MLflow's client PUTs text
 *   artifacts as text/plain).
 * - DNS rebinding. A page at an attacker's name that resolves to 127.0.0.1 is same-origin with
 *   itself; only the `Host` header shows the name it used, so Host must be a name this server
 *   answers to.
 */
export interface GuardOptions {
  /** The URL clients reach this server by; its host is allowed, its origin is the server's own. */
  publicUrl: () => string;
  /** Further host names (no port) the server answers to; `*` for any. */
  allowedHosts: readonly string[];
  /** Further origins (`scheme://host[:port]`) allowed to change the registry; `*` for any. */
  allowedOrigins: readonly string[];
}

/** POSTs that only read (the Hub's paths-info, which huggingface_hub sends as a form): a cross-site page may send one, but never reads the answer. */
const READ_ONLY_POST = /^\/api\/models\/[^?]*\/paths-info\//;

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
/** The content types a cross-site form or fetch sends without preflight (Fetch standard, "CORS-safelisted request-header"). */
const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Input echoed in a message is cut: a hostile header can be kilobytes long. */
function echo(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

/** The name part of a Host header (or of a URL's host), lower-case, without port or trailing dot. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

function portOf(host: string, scheme: string): string {
  const m = /:(\d+)$/.exec(host.startsWith('[') ? host.slice(host.indexOf(']')) : host);
  return m?.[1] ?? (scheme === 'https' ? '443' : '80');
}

function refuseHost(host: string): BerthError {
  return new BerthError(
    'INVALID_ARGUMENT',
    `this server does not answer to the host name ${echo(host)} (a guard against DNS rebinding): ` +
      `reach it by one of its names, or allow that name with --allowed-hosts (BERTH_ALLOWED_HOSTS) or --public-url (BERTH_PUBLIC_URL)`,
    { field: 'host' },
  );
}

export function browserGuard(app: FastifyInstance, opts: GuardOptions): void {
  const anyHost = opts.allowedHosts.includes('*');
  const anyOrigin = opts.allowedOrigins.includes('*');
  const hosts = new Set([...LOOPBACK_NAMES, ...opts.allowedHosts.map(hostName)]);
  const origins = new Set(opts.allowedOrigins);
  let seen: { url: string; host: string; origin: string } | undefined;
  const publicUrl = () => {
    const url = opts.publicUrl();
    if (seen?.url !== url) {
      const u = new URL(url);
      seen = { url, host: hostName(u.host), origin: u.origin };
    }
    return seen;
  };

  /** Same origin: the page was served by this server under the very name the request uses. */
  function sameOrigin(req: FastifyRequest, origin: URL): boolean {
    const host = req.headers.host ?? '';
    const scheme = origin.protocol.slice(0, -1);
    return scheme === req.protocol && hostName(origin.host) === hostName(host) && portOf(origin.host, scheme) === portOf(host, req.protocol);
  }

  function checkOrigin(req: FastifyRequest, origin: string): void {
    if (anyOrigin || origins.has(origin)) return;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (url && (url.origin === publicUrl().origin || origins.has(url.origin) || sameOrigin(req, url))) return;
    throw new BerthError(
      'PERMISSION_DENIED',
      `a page at ${echo(origin)} may not change this registry (cross-origin request): allow that origin with --allowed-origins (BERTH_ALLOWED_ORIGINS)`,
      { origin: origin.slice(0, 100) },
    );
  }

  function checkContentType(req: FastifyRequest): void {
    if (/^bearer\s+\S/i.test(req.headers.authorization ?? '')) return;
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== '' && !SIMPLE_TYPES.has(type)) return;
    throw new BerthError(
      'INVALID_ARGUMENT',
      `a POST must send Content-Type: application/json (or application/octet-stream for raw bytes), not ${type ? echo(type) : 'none'}: ` +
        'a web page can send form and text bodies to any server without asking, so Berth refuses them',
      { field: 'content-type' },
    );
  }

  function check(req: FastifyRequest): void {
    const host = req.headers.host;
    // No Host: HTTP/1.0, which no browser speaks. /healthz tells nothing, and probes send whatever address they dialled.
    if (host !== undefined && !anyHost && req.url !== '/healthz') {
      const name = hostName(host);
      if (!hosts.has(name) && name !== publicUrl().host) throw refuseHost(host);
    }
    if (SAFE_METHODS.has(req.method)) return;
    const origin = req.headers.origin;
    if (origin !== undefined) checkOrigin(req, origin);
    if (req.method === 'POST' && !READ_ONLY_POST.test(req.url)) checkContentType(req);
  }
  // A callback hook, not an async one: it runs on every request, and a promise per request shows on the hot read path.
  app.addHook('onRequest', (req, _reply, done) => {
    try {
      check(req);
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
}
