import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { RenderPromptBody, RenderedPromptSchema } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { versionRef } from '../../registry/versions-service.js';

/** Prompts (docs/decisions/0018): rendering runs on the server, with the same rule for every client. */
export function promptRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Params: { name: string; version: string }; Body: RenderPromptBody }>(
    // The segment is named `version` like in every other version route (one parameter name per tree position).
    '/models/:name/versions/:version/render',
    {
      schema: {
        summary: 'Render a prompt version (version: a number, an alias, latest or sha256:…) with every variable its template declares',
        tags: ['versions'],
        params: Type.Object({ name: Type.String(), version: Type.String({ minLength: 1 }) }),
        body: RenderPromptBody,
        response: { 200: RenderedPromptSchema },
      },
    },
    async (req) => registry.prompts.render(versionRef(req.params.name, req.params.version), req.body.variables ?? {}),
  );
}
