import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ALLOW_PRIVATE_HINT, SsrfError, guardedLookup, refusedAddress } from './ssrf.js';

export interface SendResult {
  /** The HTTP status, or null when no answer came (refused, unreachable, timed out). */
  status: number | null;
  ok: boolean;
  error: string | null;
  latencyMs: number;
  /** The target was refused by the SSRF guard: retrying cannot help. */
  refused: boolean;
  /** The first bytes of the answer (a test send shows them). */
  body: string;
}

export interface SendOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  /** Aborts the call without a verdict (the dispatcher stopping). */
  signal?: AbortSignal;
}

const KEEP_BODY = 2048;

/**
 * Connections kept open between calls: an endpoint gets its events one after another, and a new
 * TCP (and TLS) handshake per event would cap it at a few hundred a second. Sockets are checked
 * by the guard when they connect, so pools are kept apart by whether private targets are allowed.
 */
const agents = new Map<string, HttpAgent>();
function agentFor(https: boolean, allowPrivate: boolean): HttpAgent {
  const key = `${https}:${allowPrivate}`;
  let a = agents.get(key);
  if (!a) {
    const opts = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: 4, maxFreeSockets: 4, timeout: 30_000 };
    a = https ? new HttpsAgent(opts) : new HttpAgent(opts);
    agents.set(key, a);
  }
  return a;
}

/**
 * POSTs one webhook call. Never throws: every outcome is a result to record. The time limit
 * covers the whole exchange (connect, headers, body), so a receiver that accepts the connection
 * and then says nothing costs one timeout, not a stuck endpoint.
 */
export function send(url: string, headers: Record<string, string>, body: string, opts: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'latencyMs'>): SendResult => ({ ...r, latencyMs: Math.round(performance.now() - started) });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve(done({ status: null, ok: false, error: `not a URL: ${url}`, refused: true, body: '' }));
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  // A literal address never goes through lookup: check it here.
  const literal = opts.allowPrivate ? undefined : refusedAddress(host);
  if (literal) return Promise.resolve(done({ status: null, ok: false, error: `refused ${host}: ${literal}; ${ALLOW_PRIVATE_HINT}`, refused: true, body: '' }));
  return new Promise((resolve) => {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'berth-webhooks/1', ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(opts.allowPrivate),
        signal,
        agent: agentFor(u.protocol === 'https:', opts.allowPrivate),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < KEEP_BODY) {
            chunks.push(c);
            kept += c.length;
          }
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          const text = Buffer.concat(chunks).subarray(0, KEEP_BODY).toString('utf8');
          resolve(done({ status, ok, error: ok ? null : `receiver answered ${status}`, refused: false, body: text }));
        });
        res.on('error', (err) => resolve(done({ status: res.statusCode ?? null, ok: false, error: describe(err, opts, timeout), refused: false, body: '' })));
      },
    );
    req.on('error', (err) => resolve(done({ status: null, ok: false, error: describe(err, opts, timeout), refused: err instanceof SsrfError, body: '' })));
    req.end(body);
  });
}

function describe(err: Error, opts: SendOptions, timeout: AbortSignal): string {
  if (err instanceof SsrfError) return err.message;
  if (timeout.aborted) return `no answer within ${opts.timeoutMs} ms`;
  if (opts.signal?.aborted) return 'stopped';
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}: ${err.message}` : err.message;
}
