import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import fc from 'fast-check';
import type { TObject } from '@sinclair/typebox';
import { openTestApp } from '../../../test-support/app.js';
import { brokenBody, fuzzSettings, hostileArgs, hostileValue, injectWithin, Nested, problemWith, shown, toJson } from '../../../test-support/fuzz.js';
import type { Registry } from '../../registry/registry.js';
import { localActor } from '../../registry/actor.js';
import { mlflowApi, mlflowArtifactsApi } from './index.js';

interface Route {
  method: string;
  url: string;
  /** Argument names from the route's schema (query string for GET, body otherwise). */
  args: string[];
}

/** Every route the MLflow plugins declare, read from Fastify's onRoute hook: a new route is fuzzed without editing this file. */
async function mlflowRoutes(registry: Registry): Promise<Route[]> {
  const probe = Fastify();
  const routes: Route[] = [];
  probe.addHook('onRoute', (r) => {
    const schema = (r.schema?.body ?? r.schema?.querystring) as TObject | undefined;
    for (const method of [r.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      routes.push({ method, url: r.url, args: Object.keys(schema?.properties ?? {}) });
    }
  });
  await probe.register(mlflowApi, { prefix: '/api/2.0/mlflow', registry });
  await probe.register(mlflowArtifactsApi, { prefix: '/api/2.0/mlflow-artifacts', registry, publicUrl: () => 'http://127.0.0.1' });
  await probe.ready();
  await probe.close();
  return routes;
}

/** Values that exist in the seeded registry, so some requests get past "not found" into the handlers. */
const KNOWN = ['fuzzed', 'champion', '1', '2', 'model.bin', 'mlflow.note', '0', 'ACTIVE_ONLY', 'Production', 'None', 'name', 'version DESC'];

/** Path parameters (`:model_id`, `*`) get a known value or a hostile string. */
const pathPart = fc.oneof(fc.constantFrom('fuzzed', 'm-0', '..', '%2e%2e', 'a/b/c', 'x'.repeat(5000), '%00', '🦄'), fc.string({ maxLength: 20 }));

function concreteUrl(url: string, parts: string[]): string {
  let i = 0;
  return url.replace(/:[a-z_]+|\*/g, () => encodeURIComponent(parts[i++ % parts.length] ?? 'x').replaceAll('%2F', '/'));
}

function queryString(args: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(args)) {
    if (Array.isArray(v)) for (const x of v) q.append(k, typeof x === 'string' ? x : toJson(x));
    else q.append(k, typeof v === 'string' ? v : toJson(v));
  }
  return q.toString();
}

describe('MLflow front under fuzzing', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  let routes: Route[];

  before(async () => {
    const t = await openTestApp('berth-mlflow-fuzz-');
    app = t.app;
    close = t.close;
    routes = await mlflowRoutes(t.registry);
    for (const content of ['one', 'two']) {
      const sha = createHash('sha256').update(content).digest('hex');
      await t.registry.blobs.put(localActor(), sha, Readable.from([Buffer.from(content)]));
      await t.registry.versions.create(localActor(), 'fuzzed', { files: [{ path: 'model.bin', size: content.length, sha256: sha }] });
    }
    await t.registry.aliases.set(localActor(), 'fuzzed', 'champion', { version: 1 });
  });
  after(async () => close?.());

  it('answers every route with < 500, in time and in MLflow error shape when given hostile arguments', async () => {
    assert.ok(routes.length >= 40, `found only ${routes.length} MLflow routes`);
    const { seed, numRuns } = fuzzSettings(300);
    let examples = 0;
    let fiveHundreds = 0;
    const seen = new Set<string>();
    const request = fc.record({
      route: fc.constantFrom(...routes),
      parts: fc.array(pathPart, { minLength: 1, maxLength: 2 }),
      body: fc.option(brokenBody, { freq: 5 }),
      type: fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded'),
    });
    await fc.assert(
      fc.asyncProperty(
        request.chain((r) => hostileArgs(r.route.args, KNOWN).map((args) => ({ ...r, args }))),
        async ({ route, args, parts, body, type }) => {
          examples++;
          seen.add(`${route.method} ${route.url}`);
          const url = concreteUrl(route.url, parts);
          const req: InjectOptions =
            route.method === 'GET'
              ? { method: 'GET', url: `${url}?${queryString(args)}` }
              : { method: route.method as InjectOptions['method'], url, headers: { 'content-type': type }, payload: body ?? toJson(args) };
          const res = await injectWithin(app, req);
          if (res.statusCode >= 500) fiveHundreds++;
          const problem = problemWith(res, 'mlflow');
          assert.equal(problem, undefined, `${req.method} ${shown(req.url)} ${shown(req.payload ?? '')} → ${problem}: ${shown(res.body)}`);
        },
      ),
      { seed, numRuns, endOnFailure: true, includeErrorInReport: true },
    );
    console.log(`MLflow fuzz: ${examples} examples over ${seen.size} of ${routes.length} routes (seed ${seed}), ${fiveHundreds} responses >= 500`);
  });

  it('refuses an argument nested 5,000 deep with a 400, not a 500', async () => {
    const deep = new Nested(5000, true);
    for (const [path, args] of [
      ['/runs/set-tag', { run_id: 'r', key: deep, value: 'v' }],
      ['/registered-models/create', { name: deep }],
      ['/registered-models/update', { name: 'fuzzed', description: deep }],
    ] as const) {
      const res = await injectWithin(app, {
        method: path.endsWith('update') ? 'PATCH' : 'POST',
        url: `/api/2.0/mlflow${path}`,
        headers: { 'content-type': 'application/json' },
        payload: toJson(args),
      });
      assert.equal(res.statusCode, 400, `${path}: ${res.body}`);
      assert.equal(res.json().error_code, 'INVALID_PARAMETER_VALUE');
    }
  });

  it('keeps a hostile value in any single argument of every route below 500', async () => {
    // Each route once per argument, so a rare route is not left to chance.
    const { seed } = fuzzSettings(1);
    let examples = 0;
    for (const route of routes) {
      for (const arg of route.args) {
        await fc.assert(
          fc.asyncProperty(hostileValue(KNOWN), async (value) => {
            examples++;
            const url = concreteUrl(route.url, ['fuzzed']);
            const args = { name: 'fuzzed', version: '1', [arg]: value };
            const req: InjectOptions =
              route.method === 'GET'
                ? { method: 'GET', url: `${url}?${queryString(args)}` }
                : { method: route.method as InjectOptions['method'], url, headers: { 'content-type': 'application/json' }, payload: toJson(args) };
            const res = await injectWithin(app, req);
            const problem = problemWith(res, 'mlflow');
            assert.equal(problem, undefined, `${req.method} ${shown(req.url)} ${shown(req.payload ?? '')} → ${problem}: ${shown(res.body)}`);
          }),
          { seed, numRuns: 5, endOnFailure: true, includeErrorInReport: true },
        );
      }
    }
    console.log(`MLflow fuzz, argument by argument: ${examples} examples`);
  });
});
