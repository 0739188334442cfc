import { Type, type Static } from '@sinclair/typebox';
import { ModelSchema, VersionSchema } from './schemas.js';

/**
 * Wire shapes of the catalog (issue 13): search results (`GET /api/v1/search`) and the models
 * as they stood at a past time (`GET /api/v1/catalog?at=`).
 */
const Str = Type.String();
const Time = Type.String({ format: 'date-time' });
const NullableStr = Type.Union([Type.String(), Type.Null()]);

export const SearchQuerySchema = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 1000 })),
  kind: Type.Optional(Type.Union([Type.Literal('models'), Type.Literal('versions')])),
  cursor: Type.Optional(Str),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export type SearchQueryParams = Static<typeof SearchQuerySchema>;

/** A version found by search: the version, its aliases, and its model's kind. */
export const VersionHitSchema = Type.Object({ ...VersionSchema.properties, model_kind: Str });
export type VersionHit = Static<typeof VersionHitSchema>;

/** One page of a search: `items` are models or versions, as `kind` says. */
export const SearchPageSchema = Type.Object({
  kind: Type.Union([Type.Literal('models'), Type.Literal('versions')]),
  models: Type.Optional(Type.Array(ModelSchema)),
  versions: Type.Optional(Type.Array(VersionHitSchema)),
  next_cursor: NullableStr,
});
export type SearchPage = Static<typeof SearchPageSchema>;

/** A model in the catalog at a past time: its snapshot then and its aliases then. */
export const CatalogEntryAtSchema = Type.Object({
  name: Str,
  kind: Str,
  description: Str,
  tags: Type.Record(Type.String(), Type.String()),
  aliases: Type.Record(Type.String(), Type.Integer()),
});
export type CatalogEntryAt = Static<typeof CatalogEntryAtSchema>;

export const CatalogAtPageSchema = Type.Object({ at: Time, items: Type.Array(CatalogEntryAtSchema), next_cursor: NullableStr });
export type CatalogAtPage = Static<typeof CatalogAtPageSchema>;
