import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { openTestApp } from '../../test-support/app.js';
import { openApiPath } from './openapi.js';

/**
 * Every `METHOD path` Fastify serves, read from its route tree (printRoutes), not from what the
 * document collected: a route the collector skips still shows up here. In the tree a `:` right
 * after `/` starts a parameter; anywhere else it is a literal colon.
 */
function servedRoutes(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    const path = (depth > 0 ? (stack[depth - 1] ?? '') : '') + (m[2] ?? '');
    stack.length = depth;
    stack[depth] = path;
    for (const method of m[3]?.split(', ') ?? []) out.push(`${method} ${path}`);
  }
  return out;
}

/** A route path as the tree prints it, as an OpenAPI template. */
function templateOf(printed: string): string {
  return printed.replace(/\/:([A-Za-z0-9_]+)/g, '/{$1}').replace(/\*$/, '{path}');
}

describe('OpenAPI document', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  // the document is read field by field
  let doc: any;
  before(async () => {
    const t = await openTestApp('berth-openapi-');
    ({ app, close } = t);
    doc = (await app.inject('/api/v1/openapi.json')).json();
  });
  after(async () => close?.());

  it('turns route URLs into path templates, digits in names and literal colons included', () => {
    assert.equal(openApiPath('/api/v1/blobs/:sha256'), '/api/v1/blobs/{sha256}');
    assert.equal(openApiPath('/api/v1/models/:name/aliases::batch'), '/api/v1/models/{name}/aliases:batch');
    assert.equal(openApiPath('/api/v1/models/:name/versions/:version/files/*'), '/api/v1/models/{name}/versions/{version}/files/{path}');
  });

  it('documents exactly the routes served under /api/v1, path and method', () => {
    const served = servedRoutes(app).filter((r) => r.split(' ')[1]!.startsWith('/api/v1/'));
    assert.ok(served.length > 30, `read ${served.length} routes from the route tree`);
    // HEAD answers as GET does, without the body: served for every GET, not documented apart
    for (const head of served.filter((r) => r.startsWith('HEAD '))) assert.ok(served.includes(`GET ${head.slice(5)}`), `${head} has a GET`);
    const fromServer = served.filter((r) => !r.startsWith('HEAD ')).map((r) => `${r.split(' ')[0]} ${templateOf(r.split(' ')[1]!)}`);
    const fromDoc = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    // every documented operation is served, as the document spells it …
    for (const op of fromDoc) {
      const [method, path] = op.split(' ') as [string, string];
      const url = path
        .replace(/:/g, '::')
        .replace(/\{path\}$/, '*')
        .replace(/\{([^}]+)\}/g, ':$1');
      assert.ok(app.hasRoute({ method: method as 'GET', url }), `${op} is served`);
    }
    // … and every served one documented: the tree drops the static part before a wildcard
    // (`files/*` prints as `*`), so those are matched by count, the others by template
    assert.equal(fromDoc.length, fromServer.length, `documented:\n${fromDoc.sort().join('\n')}\nserved:\n${fromServer.sort().join('\n')}`);
    for (const op of fromServer.filter((r) => !r.endsWith('{path}'))) assert.ok(fromDoc.includes(op), `${op} is documented`);
    assert.ok(fromDoc.includes('GET /api/v1/blobs/{sha256}'));
    assert.ok(fromDoc.includes('POST /api/v1/models/{name}/aliases:batch'));
  });

  it('describes every path parameter with the schema the route validates it with', () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { parameters: { name: string; in: string }[] }>>)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        assert.deepEqual(
          op.parameters.filter((p) => p.in === 'path').map((p) => p.name),
          names,
          `${method} ${path}`,
        );
      }
    }
    const version = doc.paths['/api/v1/models/{name}/versions/{version}'].get.parameters.find((p: { name: string }) => p.name === 'version');
    assert.deepEqual(version.schema, { type: 'integer', minimum: 1 });
  });

  it('describes raw byte bodies, empty answers and optional bodies as served', () => {
    const blob = doc.paths['/api/v1/blobs/{sha256}'];
    assert.deepEqual(Object.keys(blob.put.requestBody.content), ['application/octet-stream']);
    assert.deepEqual(Object.keys(blob.get.responses['206'].content), ['application/octet-stream']);
    assert.deepEqual(doc.paths['/api/v1/models/{name}/aliases/{alias}'].delete.responses['204'], { description: 'OK' });
    assert.equal(doc.paths['/api/v1/gc'].post.requestBody.required, false);
    const batch = doc.paths['/api/v1/models/{name}/aliases:batch'].post;
    assert.equal(batch.requestBody.content['application/json'].schema.properties.moves.type, 'array');
  });

  it('accepts the request it documents: a batch move on the documented path', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/models/ghost/aliases:batch',
      payload: { moves: [{ alias: 'a', version: 1 }] },
    });
    assert.equal(res.statusCode, 404);
    assert.match(res.json().error.message, /ghost/);
  });
});
