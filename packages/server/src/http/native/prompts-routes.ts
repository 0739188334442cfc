import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { RenderPromptBody, RenderedPromptSchema } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { versionRef } from '../../registry/prompts-service.js';

/** Prompts (docs/decisions/0018): rendering runs on the server, with the same rule for every client. */
export function promptRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Params: { name: string; ref: string }; Body: RenderPromptBody }>(
    '/models/:name/versions/:ref/render',
    {
      schema: {
        summary: 'Render a prompt version (ref: a version number, an alias or sha256:…) with every variable its template declares',
        tags: ['versions'],
        params: Type.Object({ name: Type.String(), ref: Type.String() }),
        body: RenderPromptBody,
        response: { 200: RenderedPromptSchema },
      },
    },
    async (req) => registry.prompts.render(versionRef(req.params.name, req.params.ref), req.body.variables ?? {}),
  );
}
