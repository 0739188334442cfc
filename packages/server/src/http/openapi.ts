import type { FastifyInstance, RouteOptions } from 'fastify';

interface Collected {
  method: string;
  url: string;
  schema: Record<string, unknown>;
}

/**
 * Builds the OpenAPI 3.1 document from the very schemas the routes validate with, collected
 * as routes are registered. JSON Schema as TypeBox emits it is valid OpenAPI 3.1 schema.
 */
export function collectOpenApi(app: FastifyInstance, prefix: string): () => Record<string, unknown> {
  const routes: Collected[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    if (!r.url.startsWith(prefix) || !r.schema || (r.schema as { hide?: boolean }).hide) return;
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m.toLowerCase(), url: r.url, schema: r.schema as Record<string, unknown> });
  });
  let doc: Record<string, unknown> | undefined;
  return () => {
    if (doc) return doc;
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of routes) {
      // `::` is find-my-way's escape for a literal colon (`aliases::batch` serves `aliases:batch`)
      const path = r.url
        .replace(/(?<!:):([A-Za-z_]+)/g, '{$1}')
        .replace(/::/g, ':')
        .replace(/\*$/, '{path}');
      const params = [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      const query = r.schema.querystring as { properties?: Record<string, unknown>; required?: string[] } | undefined;
      for (const [name, schema] of Object.entries(query?.properties ?? {}))
        params.push({ name, in: 'query', required: query?.required?.includes(name) ?? false, schema: schema as { type: string } });
      const responses: Record<string, unknown> = {};
      for (const [code, schema] of Object.entries((r.schema.response as Record<string, unknown>) ?? {})) {
        responses[code] = { description: code.startsWith('2') ? 'OK' : 'Error', content: { 'application/json': { schema } } };
      }
      responses.default = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      const op: Record<string, unknown> = { summary: r.schema.summary, tags: r.schema.tags, parameters: params, responses };
      if (r.schema.body) op.requestBody = { required: true, content: { 'application/json': { schema: r.schema.body } } };
      paths[path] ??= {};
      paths[path][r.method] = op;
    }
    doc = JSON.parse(
      JSON.stringify({
        openapi: '3.1.0',
        info: { title: 'Berth native API', version: '1' },
        paths,
        components: {
          schemas: {
            Error: {
              type: 'object',
              properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } } } },
            },
          },
        },
      }),
    ) as Record<string, unknown>;
    return doc;
  };
}

declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    tags?: string[];
    hide?: boolean;
  }
}
