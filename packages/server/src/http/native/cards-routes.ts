import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CardSchema, PutCardBody } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';

// Named `version` like the other version routes' parameter (the router shares one parameter node), but a reference.
const CardParams = Type.Object({
  name: Type.String(),
  version: Type.String({ description: 'A version number, an alias or a manifest digest (sha256:…)' }),
});

function wantsMarkdown(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/markdown');
}

/** Model cards (docs/decisions/0018): read by anyone who may read the version, edited by an editor of the model. */
export function cardRoutes(app: FastifyInstance, registry: Registry): void {
  app.get<{ Params: { name: string; version: string } }>(
    '/models/:name/versions/:version/card',
    {
      schema: {
        summary: "A version's model card (the Hub's README.md): edited, else its README.md file, else generated; Accept: text/markdown for the text alone",
        tags: ['versions'],
        markdown: true,
        params: CardParams,
        response: { 200: CardSchema },
      },
    },
    async (req, reply) => {
      const card = await registry.cards.get(req.params.name, req.params.version);
      if (!wantsMarkdown(req)) return card;
      return reply
        .type('text/markdown; charset=utf-8')
        .serializer((text: string) => text)
        .send(card.text);
    },
  );

  app.put<{ Params: { name: string; version: string }; Body: PutCardBody }>(
    '/models/:name/versions/:version/card',
    {
      schema: {
        summary: "Edit a version's model card: kept in its metadata (berth.card) through the audited version update; its files never change",
        tags: ['versions'],
        params: CardParams,
        body: PutCardBody,
        response: { 200: CardSchema },
      },
    },
    async (req) => registry.cards.set(actorOf(req), req.params.name, req.params.version, req.body.text),
  );
}
