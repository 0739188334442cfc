import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';

/** The name the document gives a trailing wildcard. */
const WILDCARD = 'path';

/**
 * A find-my-way route URL as an OpenAPI path template: `:name` → `{name}` (names may hold
 * digits: `:sha256`), `::` → a literal `:` (`aliases::batch` serves `aliases:batch`), a
 * trailing `*` → `{path}`.
 */
export function openApiPath(url: string): string {
  return url
    .split('::')
    .map((part) => part.replace(/:([A-Za-z0-9_]+)/g, '{$1}'))
    .join(':')
    .replace(/\*$/, `{${WILDCARD}}`);
}

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
      const path = openApiPath(r.url);
      const bytes = r.schema.bytes as FastifySchema['bytes'];
      const declared = (r.schema.params as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      const params: Record<string, unknown>[] = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => {
        const name = m[1] as string;
        // the wildcard's value is params['*'] in Fastify and {path} in the document
        const schema = declared[name === WILDCARD && !(name in declared) ? '*' : name] ?? { type: 'string' };
        return { name, in: 'path', required: true, schema };
      });
      const query = r.schema.querystring as { properties?: Record<string, unknown>; required?: string[] } | undefined;
      for (const [name, schema] of Object.entries(query?.properties ?? {}))
        params.push({ name, in: 'query', required: query?.required?.includes(name) ?? false, schema });
      const responses: Record<string, unknown> = {};
      for (const [code, schema] of Object.entries((r.schema.response as Record<string, unknown>) ?? {})) {
        const description = code.startsWith('2') ? 'OK' : 'Error';
        // a null schema is an answer without a body (204)
        responses[code] = (schema as { type?: unknown }).type === 'null' ? { description } : { description, content: { 'application/json': { schema } } };
      }
      if (bytes?.response) {
        const content = { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
        responses['200'] = { description: 'The bytes', content };
        responses['206'] = { description: 'The requested range of the bytes', content };
      }
      if (r.schema.eventStream) {
        const ok = responses['200'] as { content: Record<string, unknown> };
        ok.content['text/event-stream'] = {
          schema: { type: 'string', description: 'Server-Sent Events: `id: <seq>`, `event: <type>`, `data: <event JSON>` per event; heartbeat comments' },
        };
        params.push({ name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } });
      }
      if (r.schema.markdown) (responses['200'] as { content: Record<string, unknown> }).content['text/markdown'] = { schema: { type: 'string' } };
      responses.default = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      const op: Record<string, unknown> = { summary: r.schema.summary, tags: r.schema.tags, parameters: params, responses };
      if (r.schema.body) op.requestBody = { required: true, content: { 'application/json': { schema: r.schema.body } } };
      else if (r.schema.optionalBody) op.requestBody = { required: false, content: { 'application/json': { schema: r.schema.optionalBody } } };
      else if (bytes?.request) op.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
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
    /** For the document only: a JSON body the route takes when given (validated by the registry). */
    optionalBody?: unknown;
    /** For the document only: the route takes (request) or answers with (response) raw bytes, Range supported. */
    bytes?: { request?: boolean; response?: boolean };
    /** For the document only: with Accept: text/event-stream the route answers Server-Sent Events. */
    eventStream?: boolean;
    /** For the document only: with Accept: text/markdown the route answers the Markdown text alone. */
    markdown?: boolean;
  }
}
