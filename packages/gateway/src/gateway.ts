import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { outputsDiffer, pick, stickyBucket } from '@berth/core';
import { BerthClient } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import type { Dispatcher } from 'undici';
import { RenderError, renderBundle } from './bundle.js';
import type { ControlFactory, ControlPlane, DataPlane, DeploymentsView, ProbeResult } from './contract.js';
import { Follower, type RoutedDeployment, type VersionRoute } from './follower.js';
import { GatewayMetrics, type RequestResult } from './metrics.js';
import { newRequestId, RequestMemory } from './request-memory.js';
import { failureOf, Pools, readAll, readAnswer, SseCollector } from './upstream.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface GatewayOptions {
  /** The registry's URL. */
  url: string;
  /** A bearer token: reader on the deployments' models for routing only, approver for the control plane's decisions. */
  token?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Only these deployments (default: every deployment in the registry). */
  deployments?: string[];
  /** This gateway's name in decisions and reports (default `<hostname>-<port>`). */
  gatewayId?: string;
  reportIntervalMs?: number;
  /** The control plane (analysis, rollouts, reports); without one the gateway only routes. */
  control?: ControlFactory;
  now?: () => number;
  log?: Log;
}

export interface Gateway {
  url: string;
  port: number;
  gatewayId: string;
  /** The deployments as this gateway routes them. */
  view: DeploymentsView;
  /** Stops accepting, lets requests in flight finish, then stops following the registry. */
  close(): Promise<void>;
}

const MAX_BODY = 10 * 1024 * 1024;
const MAX_FEEDBACK_BODY = 64 * 1024;
const MAX_SHADOW_IN_FLIGHT = 64;
const JSON_TYPE = 'application/json';
const TOO_LARGE = Symbol('too large');
/** The most of an oversized body read and thrown away so that its 413 reaches the client. */
const MAX_DRAIN = 64 * 1024 * 1024;

interface Served {
  dep: RoutedDeployment;
  route: VersionRoute;
  requestId: string;
  started: number;
}

function errorBody(message: string, type: string, code: string, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | typeof TOO_LARGE> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return discard(req, 0, declared > MAX_DRAIN).then(() => TOO_LARGE);
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= limit) return void parts.push(c);
      parts.length = 0;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', reject);
      void discard(req, size, false).then(() => resolve(TOO_LARGE));
    };
    const onEnd = () => resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

/**
 * Reads the rest of a body that is over the limit and throws it away, up to MAX_DRAIN bytes in
 * all. Answering before the body is in and then closing would make the kernel reset the
 * connection on the client's unread bytes, and the client would lose the 413 that was sent.
 * Beyond MAX_DRAIN (or when `skip`) the answer goes out at once and the client may lose it.
 */
function discard(req: IncomingMessage, seen: number, skip: boolean): Promise<void> {
  if (skip || req.readableEnded) {
    req.resume();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let total = seen;
    const done = () => {
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      req.off('close', done);
      resolve();
    };
    const onData = (c: Buffer) => {
      total += c.length;
      if (total > MAX_DRAIN) done();
    };
    req.on('data', onData);
    req.on('end', done);
    req.on('error', done);
    req.on('close', done);
    req.resume();
  });
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy recomputes never cross it. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function forwardable(headers: IncomingMessage['headers'] | Dispatcher.ResponseData['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

/**
 * Starts the gateway (DESIGN §2 "Deployments and the gateway"): reads and follows the
 * registry's deployments, then serves the OpenAI API on node:http, proxying each request to the
 * version its deployment's split picks, through a keep-alive pool per upstream origin.
 */
function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * Why a proxied path would leave the upstream's base path (a `.` or `..` segment, plain or
 * percent-encoded, or a segment that does not decode), or undefined when it stays below it.
 */
function escapesBase(path: string): string | undefined {
  const q = path.indexOf('?');
  for (const segment of (q < 0 ? path : path.slice(0, q)).split('/')) {
    const decoded = safeDecode(segment);
    if (decoded === undefined) return 'the path is not valid percent-encoding';
    if (decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\\'))
      return `the path segment ${JSON.stringify(segment)} would leave the upstream's path`;
  }
  return undefined;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const now = opts.now ?? Date.now;
  const log: Log = opts.log ?? (() => {});
  const client = new BerthClient({ url: opts.url, actor: 'berth-gateway', ...(opts.token ? { token: opts.token } : {}), fetch: nodeFetch });
  const metrics = new GatewayMetrics();
  const memory = new RequestMemory();
  const pools = new Pools();
  const follower = new Follower(client, opts.deployments, log, (c) => metrics.registryConnected.set(c ? 1 : 0));
  follower.onChange((name, live, before) => metrics.setWeights(name, before?.weights, live?.weights));
  let control: ControlPlane | undefined;
  let shadowInFlight = 0;
  let inFlight = 0;
  let closing = false;
  let idle: (() => void) | undefined;

  await follower.start();

  // ---- the answers every request ends with

  function headersFor(s: Served | null, requestId: string, contentType = JSON_TYPE): OutgoingHttpHeaders {
    const h: OutgoingHttpHeaders = { 'content-type': contentType, 'x-request-id': requestId };
    if (s) {
      h['x-berth-deployment'] = s.dep.name;
      h['x-berth-version'] = s.route.label;
    }
    if (closing) h.connection = 'close';
    return h;
  }

  function fail(res: ServerResponse, status: number, body: string, s: Served | null, requestId: string): void {
    if (res.headersSent) return void res.end();
    res.writeHead(status, headersFor(s, requestId));
    res.end(body);
  }

  function finish(s: Served, result: RequestResult, tokensIn: number, tokensOut: number, input: unknown, output: string | null): void {
    const latencyMs = performance.now() - s.started;
    const m = metrics.forVersion(s.dep.name, s.route.version);
    m.outcome[result].inc();
    m.duration.observe(latencyMs / 1000);
    if (tokensIn) m.tokensIn.inc(tokensIn);
    if (tokensOut) m.tokensOut.inc(tokensOut);
    const at = now();
    memory.remember(s.requestId, { deployment: s.dep.name, version: s.route.version, at });
    control?.requestFinished({
      requestId: s.requestId,
      deployment: s.dep.name,
      version: s.route.version,
      at,
      latencyMs,
      error: result === 'error',
      tokensIn,
      tokensOut,
      input,
      output,
    });
  }

  // ---- routing

  function choose(dep: RoutedDeployment, req: IncomingMessage, body: Record<string, unknown> | null): number | null {
    let u: number | undefined;
    if (dep.abKey) {
      const raw = dep.abKey.from === 'header' ? req.headers[dep.abKey.name] : body?.[dep.abKey.name];
      const key = Array.isArray(raw) ? raw[0] : raw;
      if (typeof key === 'string' || typeof key === 'number') u = stickyBucket(String(key));
    }
    return pick(dep.weights, u ?? Math.random());
  }

  /** The deployment and version a `model` field names; version null: by the deployment's split. */
  function resolve(model: string): { dep: RoutedDeployment; version: number | null } | undefined {
    const byName = follower.get(model);
    if (byName) return { dep: byName, version: null };
    const at = model.indexOf('@');
    if (at > 0) {
      const name = model.slice(0, at);
      const alias = model.slice(at + 1);
      let named: { dep: RoutedDeployment; version: number | null } | undefined;
      for (const dep of follower.all()) {
        if (dep.document.model !== name) continue;
        if (dep.document.stable === alias) return { dep, version: null };
        const holder = dep.aliases[alias];
        if (!named && holder !== undefined && holder !== null) named = { dep, version: holder };
      }
      return named;
    }
    const colon = model.lastIndexOf(':');
    if (colon > 0 && /^[1-9][0-9]*$/.test(model.slice(colon + 1))) {
      const name = model.slice(0, colon);
      const version = Number(model.slice(colon + 1));
      for (const dep of follower.all()) if (dep.document.model === name && dep.routes.has(version)) return { dep, version };
    }
    return undefined;
  }

  function noRoute(res: ServerResponse, dep: RoutedDeployment, requestId: string): void {
    const why = [...dep.refused.values()].join('; ');
    fail(
      res,
      503,
      errorBody(`deployment '${dep.name}' has no routable version${why ? `: ${why}` : ''}`, 'server_error', 'no_routable_version', 'model'),
      null,
      requestId,
    );
  }

  /** The body a version is sent: the client's, rendered through the bundle's pinned parts, with the upstream's model name. */
  function bodyFor(route: VersionRoute, body: Record<string, unknown>, chat: boolean): Record<string, unknown> {
    let out: Record<string, unknown>;
    if (route.bundle) out = renderBundle(body, route.bundle, chat);
    else {
      out = { ...body };
      if ('variables' in out) delete out.variables;
    }
    out.model = route.model;
    return out;
  }

  // ---- POST /v1/chat/completions and /v1/completions

  async function completions(req: IncomingMessage, res: ServerResponse, chat: boolean, suffix: string): Promise<void> {
    const started = performance.now();
    const requestId = newRequestId();
    const raw = await readBody(req, MAX_BODY);
    if (raw === TOO_LARGE) {
      res.setHeader('connection', 'close');
      return fail(res, 413, errorBody(`the request body is over ${MAX_BODY} bytes`, 'invalid_request_error', 'request_too_large'), null, requestId);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail(res, 400, errorBody('the request body is not JSON', 'invalid_request_error', 'invalid_json'), null, requestId);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return fail(res, 400, errorBody('the request body must be a JSON object', 'invalid_request_error', 'invalid_json'), null, requestId);
    const model = body.model;
    if (typeof model !== 'string')
      return fail(
        res,
        400,
        errorBody('"model" is required: a deployment name, <model>@<alias> or <model>:<N>', 'invalid_request_error', 'missing_model', 'model'),
        null,
        requestId,
      );
    const target = resolve(model);
    if (!target) {
      const served = follower.all().map((d) => d.name);
      return fail(
        res,
        404,
        errorBody(
          `The model '${model}' does not exist or is not served by this gateway: it serves ${served.length ? served.map((n) => `'${n}'`).join(', ') : 'no deployment'} (a deployment name, <model>@<alias> or <model>:<N>)`,
          'invalid_request_error',
          'model_not_found',
          'model',
        ),
        null,
        requestId,
      );
    }
    const { dep } = target;
    const version = target.version ?? choose(dep, req, body);
    const route = version === null ? undefined : dep.routes.get(version);
    if (!route) return noRoute(res, dep, requestId);
    const s: Served = { dep, route, requestId, started };
    let out: Record<string, unknown>;
    try {
      out = bodyFor(route, body, chat);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      metrics.forVersion(dep.name, route.version).outcome.client_error.inc();
      return fail(res, 400, errorBody(err.message, 'invalid_request_error', 'invalid_variables', 'variables'), s, requestId);
    }
    const stream = out.stream === true;
    const input = chat ? out.messages : out.prompt;
    const timeout = route.upstream.timeout_ms;
    let up: Dispatcher.ResponseData;
    try {
      up = await pools.get(route.origin).request({
        method: 'POST',
        path: route.basePath + suffix,
        headers: { 'content-type': JSON_TYPE, accept: stream ? 'text/event-stream' : JSON_TYPE },
        body: JSON.stringify(out),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      const code = failureOf(err);
      fail(
        res,
        code === 'upstream_timeout' ? 504 : 502,
        errorBody(
          code === 'upstream_timeout'
            ? `${route.label} did not answer within ${timeout} ms`
            : `${route.label} is unavailable at ${route.upstream.url}: ${(err as Error).message}`,
          'upstream_error',
          code,
        ),
        s,
        requestId,
      );
      finish(s, 'error', 0, 0, input, null);
      return;
    }
    metrics.forVersion(dep.name, route.version).ttfb.observe((performance.now() - started) / 1000);
    const contentType = String(up.headers['content-type'] ?? '');
    if (up.statusCode >= 200 && up.statusCode < 300 && contentType.startsWith('text/event-stream')) {
      const sse = new SseCollector();
      res.writeHead(up.statusCode, { ...headersFor(s, requestId, contentType), 'cache-control': 'no-cache' });
      res.flushHeaders();
      let cut: unknown;
      const stop = () => {
        if (!res.writableFinished) up.body.destroy();
      };
      res.on('close', stop);
      try {
        for await (const chunk of up.body) {
          if (!res.write(chunk)) await drained(res);
          sse.push(chunk as Buffer);
        }
      } catch (err) {
        cut = err;
      }
      res.off('close', stop);
      const clientGone = res.destroyed;
      if (cut !== undefined && !clientGone) {
        const code = failureOf(cut) === 'upstream_timeout' ? 'upstream_timeout' : 'upstream_stream_cut';
        res.write(`data: ${errorBody(`${route.label} stopped mid-stream: ${(cut as Error).message}`, 'upstream_error', code)}\n\n`);
      }
      res.end();
      const failed = cut !== undefined && !clientGone;
      finish(s, failed ? 'error' : 'ok', sse.tokensIn, sse.tokensOut, input, sse.text);
      if (!failed) shadow(dep, body, chat, sse.text);
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await readAll(up.body);
    } catch (err) {
      const code = failureOf(err);
      fail(
        res,
        code === 'upstream_timeout' ? 504 : 502,
        errorBody(`${route.label} stopped mid-answer: ${(err as Error).message}`, 'upstream_error', code),
        s,
        requestId,
      );
      finish(s, 'error', 0, 0, input, null);
      return;
    }
    if (up.statusCode >= 200 && up.statusCode < 300) {
      const answer = readAnswer(bytes, chat);
      if (!answer) {
        fail(
          res,
          502,
          errorBody(
            `${route.label} answered 200 with a body that is not an OpenAI ${chat ? 'chat completion' : 'completion'}`,
            'upstream_error',
            'upstream_bad_response',
          ),
          s,
          requestId,
        );
        finish(s, 'error', 0, 0, input, null);
        return;
      }
      res.writeHead(up.statusCode, headersFor(s, requestId, contentType || JSON_TYPE));
      res.end(bytes);
      finish(s, 'ok', answer.tokensIn, answer.tokensOut, input, answer.output);
      shadow(dep, body, chat, answer.output);
      return;
    }
    res.writeHead(up.statusCode, headersFor(s, requestId, contentType || JSON_TYPE));
    res.end(bytes);
    finish(s, up.statusCode >= 500 ? 'error' : 'client_error', 0, 0, input, null);
  }

  // ---- shadow copies

  function shadow(dep: RoutedDeployment, body: Record<string, unknown>, chat: boolean, returned: string | null): void {
    const version = dep.shadowVersion;
    if (version === null) return;
    if (Math.random() >= (dep.document.shadow?.sample ?? 1)) return;
    const route = dep.routes.get(version);
    if (!route) return;
    if (shadowInFlight >= MAX_SHADOW_IN_FLIGHT) {
      metrics.shadowCopy(dep.name, version, 'dropped');
      return;
    }
    shadowInFlight++;
    const started = performance.now();
    const suffix = chat ? '/chat/completions' : '/completions';
    const settle = (error: boolean, output: string | null) => {
      shadowInFlight--;
      const differed = error || output === null || returned === null ? null : outputsDiffer(returned, output);
      metrics.shadowCopy(dep.name, version, error ? 'error' : differed ? 'differed' : 'same');
      control?.shadowFinished({ deployment: dep.name, version, at: now(), latencyMs: performance.now() - started, error, differed });
    };
    (async () => {
      let out: Record<string, unknown>;
      try {
        out = bodyFor(route, body, chat);
      } catch {
        return settle(true, null);
      }
      out.stream = false;
      delete out.stream_options;
      const up = await pools.get(route.origin).request({
        method: 'POST',
        path: route.basePath + suffix,
        headers: { 'content-type': JSON_TYPE },
        body: JSON.stringify(out),
        headersTimeout: route.upstream.timeout_ms,
        bodyTimeout: route.upstream.timeout_ms,
      });
      const bytes = await readAll(up.body);
      const answer = up.statusCode >= 200 && up.statusCode < 300 ? readAnswer(bytes, chat) : null;
      settle(answer === null, answer?.output ?? null);
    })().catch(() => settle(true, null));
  }

  // ---- /d/<deployment>/<path>: any HTTP model server, streamed both ways

  async function proxyHttp(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const started = performance.now();
    const requestId = newRequestId();
    const rest = url.slice(3);
    const slash = rest.indexOf('/');
    const path = slash < 0 ? `/${rest.includes('?') ? rest.slice(rest.indexOf('?')) : ''}` : rest.slice(slash);
    const name = safeDecode(slash < 0 ? (rest.split('?')[0] ?? '') : rest.slice(0, slash));
    const bad = name === undefined ? 'the deployment name is not valid percent-encoding' : escapesBase(path);
    if (bad) {
      req.resume();
      return fail(
        res,
        400,
        errorBody(`${bad}: send /d/<deployment>/<path below the upstream's url>`, 'invalid_request_error', 'invalid_path'),
        null,
        requestId,
      );
    }
    const dep = follower.get(name as string);
    if (!dep) {
      req.resume();
      return fail(
        res,
        404,
        errorBody(`The deployment '${name}' does not exist or is not served by this gateway`, 'invalid_request_error', 'model_not_found', 'model'),
        null,
        requestId,
      );
    }
    const version = choose(dep, req, null);
    const route = version === null ? undefined : dep.routes.get(version);
    if (!route) {
      req.resume();
      return noRoute(res, dep, requestId);
    }
    const s: Served = { dep, route, requestId, started };
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    let up: Dispatcher.ResponseData;
    try {
      up = await pools.get(route.origin).request({
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        path: route.basePath + path,
        headers: forwardable(req.headers),
        body: hasBody ? req : null,
        headersTimeout: route.upstream.timeout_ms,
        bodyTimeout: route.upstream.timeout_ms,
      });
    } catch (err) {
      const code = failureOf(err);
      fail(
        res,
        code === 'upstream_timeout' ? 504 : 502,
        errorBody(`${route.label} ${code === 'upstream_timeout' ? 'did not answer in time' : 'is unavailable'}`, 'upstream_error', code),
        s,
        requestId,
      );
      finish(s, 'error', 0, 0, null, null);
      return;
    }
    metrics.forVersion(dep.name, route.version).ttfb.observe((performance.now() - started) / 1000);
    const headers = { ...forwardable(up.headers), ...headersFor(s, requestId, String(up.headers['content-type'] ?? 'application/octet-stream')) };
    res.writeHead(up.statusCode, headers);
    let cut = false;
    try {
      for await (const chunk of up.body) if (!res.write(chunk)) await drained(res);
    } catch {
      cut = true;
      res.destroy();
    }
    if (!cut) res.end();
    const failed = cut || up.statusCode >= 500;
    finish(s, failed ? 'error' : up.statusCode >= 400 ? 'client_error' : 'ok', 0, 0, null, null);
  }

  // ---- POST /v1/feedback

  async function feedback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const raw = await readBody(req, MAX_FEEDBACK_BODY);
    const bad = (message: string, param: string | null, code = 'invalid_feedback') =>
      fail(res, 400, errorBody(message, 'invalid_request_error', code, param), null, requestId);
    if (raw === TOO_LARGE)
      return fail(res, 413, errorBody(`feedback is over ${MAX_FEEDBACK_BODY} bytes`, 'invalid_request_error', 'request_too_large'), null, requestId);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return bad('the request body is not JSON', null, 'invalid_json');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad('feedback must be a JSON object {request_id, score, comment?}', null);
    const { request_id: id, score, comment } = body;
    if (typeof id !== 'string' || id === '') return bad('"request_id" must be the x-request-id of an answer', 'request_id');
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1)
      return bad(`"score" must be a number from 0 to 1, not ${JSON.stringify(score) ?? 'missing'}`, 'score');
    if (comment !== undefined && typeof comment !== 'string') return bad('"comment" must be a string', 'comment');
    const at = now();
    const served = memory.find(id, at);
    if (!served)
      return fail(
        res,
        404,
        errorBody(
          `request '${id}' is unknown to this gateway: it remembers the last 100000 requests for an hour`,
          'invalid_request_error',
          'request_not_found',
          'request_id',
        ),
        null,
        requestId,
      );
    metrics.qualityScore(served.deployment, served.version, 'feedback', score);
    control?.feedback(served.deployment, served.version, score, at);
    res.writeHead(200, headersFor(null, requestId));
    res.end(JSON.stringify({ ok: true, request_id: id, deployment: served.deployment, version: served.version }));
  }

  // ---- read-only endpoints

  function status(): Record<string, unknown> {
    return {
      gateway_id: gatewayId,
      registry_connected: follower.connected,
      deployments: follower.all().map((d) => ({
        name: d.name,
        version: d.record.version,
        model: d.document.model,
        strategy: d.document.strategy,
        aliases: d.aliases,
        weights: Object.fromEntries(d.weights),
        shadow: d.shadowVersion,
        rollout: d.rollout,
        refused: Object.fromEntries(d.refused),
        seq: d.seq,
      })),
      control: control?.status() ?? null,
    };
  }

  function models(): string {
    const data: Array<Record<string, unknown>> = [];
    for (const d of follower.all()) {
      data.push({ id: d.name, object: 'model', created: Math.floor(Date.parse(d.record.created_at) / 1000), owned_by: 'berth' });
      data.push({ id: `${d.document.model}@${d.document.stable}`, object: 'model', created: 0, owned_by: 'berth' });
    }
    return JSON.stringify({ object: 'list', data });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    if (url.startsWith('/d/')) return proxyHttp(req, res, url);
    const path = url.includes('?') ? (url.split('?')[0] as string) : url;
    if (method === 'POST' && path === '/v1/chat/completions') return completions(req, res, true, '/chat/completions');
    if (method === 'POST' && path === '/v1/completions') return completions(req, res, false, '/completions');
    if (method === 'POST' && path === '/v1/feedback') return feedback(req, res);
    if (method === 'GET' && path === '/healthz') {
      res.writeHead(closing ? 503 : 200, { 'content-type': JSON_TYPE });
      return void res.end(JSON.stringify({ ok: !closing, deployments: follower.all().length, registry_connected: follower.connected }));
    }
    if (method === 'GET' && path === '/status') {
      res.writeHead(200, { 'content-type': JSON_TYPE });
      return void res.end(JSON.stringify(status()));
    }
    if (method === 'GET' && path === '/metrics') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      return void res.end(text);
    }
    if (method === 'GET' && path === '/v1/models') {
      res.writeHead(200, { 'content-type': JSON_TYPE });
      return void res.end(models());
    }
    req.resume();
    res.writeHead(404, { 'content-type': JSON_TYPE });
    res.end(
      errorBody(
        `no route ${method} ${path}: the gateway serves /v1/chat/completions, /v1/completions, /v1/feedback, /d/<deployment>/…`,
        'invalid_request_error',
        'not_found',
      ),
    );
  }

  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (closing && inFlight === 0) {
        // Nothing is in flight, so every connection left is an idle keep-alive one: a streamed
        // answer's connection may not count as idle yet at this instant, so close them all.
        server.closeAllConnections();
        idle?.();
      }
    });
    handle(req, res).catch((err) => {
      log('error', 'request failed', { error: String(err), stack: (err as Error).stack });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': JSON_TYPE });
        res.end(errorBody('the gateway failed on this request', 'server_error', 'internal_error'));
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const gatewayId = opts.gatewayId ?? `${hostname()}-${port}`;

  const data: DataPlane = {
    view: follower,
    async probe(deployment: string, version: number): Promise<ProbeResult> {
      const route = follower.get(deployment)?.routes.get(version);
      if (!route) return { ok: false, status: null, ms: 0, error: `${deployment} does not route ${version}` };
      const u = route.upstream;
      const path = u.health ?? (u.protocol === 'openai' ? '/models' : '');
      const t0 = performance.now();
      try {
        const r = await pools.get(route.origin).request({
          method: 'GET',
          path: route.basePath + path,
          headersTimeout: Math.min(u.timeout_ms, 10_000),
          bodyTimeout: Math.min(u.timeout_ms, 10_000),
        });
        await r.body.dump();
        // Without a health path an http upstream is healthy when it answers at all without a server error.
        const ok = u.health === null && u.protocol === 'http' ? r.statusCode < 500 : r.statusCode >= 200 && r.statusCode < 300;
        return { ok, status: r.statusCode, ms: performance.now() - t0, error: ok ? null : `GET ${u.url}${path} answered ${r.statusCode}` };
      } catch (err) {
        return { ok: false, status: null, ms: performance.now() - t0, error: (err as Error).message };
      }
    },
    recordJudgeScore(deployment, version, score) {
      metrics.qualityScore(deployment, version, 'judge', score);
    },
  };
  if (opts.control) control = opts.control({ client, data, gatewayId, reportIntervalMs: opts.reportIntervalMs ?? 10_000, now, log });

  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log('info', 'gateway listening', { url, gateway: gatewayId, deployments: follower.all().map((d) => d.name) });
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    gatewayId,
    view: follower,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
        await stopped;
        follower.stop();
        await control?.stop();
        await pools.close(5000);
      })();
      return closed;
    },
  };
}
