import { Kind, Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { MODEL_KINDS } from './names.js';

/**
 * JSON schemas of the native API, and the source of its wire types: each type is the
 * `Static` of its schema (`XSchema` describes a response shape `X`; a request body `XBody` is
 * both the schema and its type). The server validates requests and serialises (and filters)
 * responses with them, and the OpenAPI document is generated from them, so the three cannot
 * drift apart. Request bodies reject unknown fields (docs/decisions/0002).
 */
const Str = Type.String();
const StrMap = Type.Record(Type.String(), Type.String());
const AnyMap = Type.Record(Type.String(), Type.Unknown());
const Time = Type.String({ format: 'date-time' });
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const NullableStr = Type.Union([Type.String(), Type.Null()]);
/**
 * The version a compare-and-swap expects, null for "must be unset". Request bodies are
 * validated without type coercion (app.ts), so null stays null.
 */
const ExpectVersion = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]);
const strict = { additionalProperties: false } as const;

/**
 * A string that is one of `values`. Written as `{type: 'string', enum}` rather than a union of
 * literals: fast-json-stringify serialises it as a plain string (a union would be tried branch
 * by branch on every item of a page, and a value outside the list would fail the response).
 */
function StringEnum<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ [Kind]: 'String', type: 'string', enum: [...values] });
}

export const VERSION_STATUSES = ['PENDING_REGISTRATION', 'READY', 'FAILED_REGISTRATION'] as const;
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export const ALIAS_ACTIONS = ['alias.set', 'alias.delete', 'alias.freeze', 'alias.unfreeze'] as const;
export const CHAIN_PROBLEMS = ['hash-mismatch', 'broken-link', 'sequence-gap'] as const;

export type VersionStatus = (typeof VERSION_STATUSES)[number];
export type Stage = (typeof STAGES)[number];
export type AliasAction = (typeof ALIAS_ACTIONS)[number];
export type ChainProblem = (typeof CHAIN_PROBLEMS)[number];

/**
 * A small file's bytes sent inside the commit (base64), so a small version is one request
 * instead of three. Limits: INLINE_BLOB_MAX_BYTES each, INLINE_TOTAL_MAX_BYTES together.
 */
export const INLINE_BLOB_MAX_BYTES = 64 * 1024;
export const INLINE_TOTAL_MAX_BYTES = 1024 * 1024;

export const ManifestFileSchema = Type.Object({ path: Str, size: Type.Integer({ minimum: 0 }), sha256: Str }, strict);
export type ManifestFile = Static<typeof ManifestFileSchema>;
export const DependencySchema = Type.Object({ model: Str, version: Type.Integer({ minimum: 1 }), digest: Str }, strict);
export type Dependency = Static<typeof DependencySchema>;
export const InlineBlobSchema = Type.Object({ sha256: Str, base64: Str }, strict);
export type InlineBlob = Static<typeof InlineBlobSchema>;

/** Wire entities of the native API (`/api/v1`). JSON is snake_case; times are ISO 8601 UTC. */

/** When an entity was created and last changed. */
const Timestamps = { created_at: Time, updated_at: Time };

export const ModelSchema = Type.Object({
  name: Str,
  kind: StringEnum(MODEL_KINDS),
  description: Str,
  tags: StrMap,
  /** alias → version for every alias the model has now. */
  aliases: Type.Record(Type.String(), Type.Integer()),
  protected_aliases: Type.Array(Str),
  frozen_aliases: Type.Array(Str),
  latest_version: NullableInt,
  version_count: Type.Integer(),
  ...Timestamps,
});
export type Model = Static<typeof ModelSchema>;

export const VersionSchema = Type.Object({
  model: Str,
  version: Type.Integer(),
  digest: Str,
  status: StringEnum(VERSION_STATUSES),
  stage: StringEnum(STAGES),
  size: Type.Integer(),
  file_count: Type.Integer(),
  files: Type.Optional(Type.Array(ManifestFileSchema)),
  metadata: AnyMap,
  tags: StrMap,
  description: Str,
  source: NullableStr,
  run_id: NullableStr,
  /** False for an external version (decision 0021): no files, its bytes at `external_uri`, its digest names no content. */
  content_addressed: Type.Boolean(),
  external_uri: NullableStr,
  dependencies: Type.Array(DependencySchema),
  aliases: Type.Array(Str),
  created_by: Str,
  ...Timestamps,
});
export type Version = Static<typeof VersionSchema>;

export const AliasSchema = Type.Object({
  model: Str,
  alias: Str,
  version: Type.Integer(),
  protected: Type.Boolean(),
  frozen: Type.Boolean(),
  updated_by: Str,
  updated_at: Time,
});
export type Alias = Static<typeof AliasSchema>;

/** What every recorded change starts with: its place in its trail, when, and by whom. */
const Recorded = { seq: Type.Integer(), at: Time, actor: Str };

export const AliasHistoryEntrySchema = Type.Object({
  ...Recorded,
  action: StringEnum(ALIAS_ACTIONS),
  model: Str,
  alias: Str,
  from_version: NullableInt,
  to_version: NullableInt,
  reason: NullableStr,
});
export type AliasHistoryEntry = Static<typeof AliasHistoryEntrySchema>;

export const AuditEventSchema = Type.Object({
  ...Recorded,
  action: Str,
  model: NullableStr,
  subject: Str,
  before: Type.Unknown(),
  after: Type.Unknown(),
  reason: NullableStr,
  prev_hash: Str,
  hash: Str,
});
export type AuditEvent = Static<typeof AuditEventSchema>;

export const RunSchema = Type.Object({
  run_id: Str,
  experiment: Str,
  name: NullableStr,
  status: Str,
  params: StrMap,
  metrics: Type.Record(Type.String(), Type.Number()),
  tags: StrMap,
  datasets: Type.Array(Type.Object({ name: Str, digest: Str, source: NullableStr })),
  ...Timestamps,
});
export type Run = Static<typeof RunSchema>;

export const ErrorSchema = Type.Object({
  error: Type.Object({ code: Str, message: Str, details: AnyMap }),
});

export function PageSchema<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next_cursor: NullableStr });
}
/** A page of any item type (`Page<Version>`), the static type of `PageSchema`. */
export type Page<T> = Static<ReturnType<typeof PageSchema<TUnsafe<T>>>>;

export const PageQuery = Type.Object({ cursor: Type.Optional(Str), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) });

/** What models and versions both describe themselves with, on create and on update. */
const Described = { description: Type.Optional(Str), tags: Type.Optional(StrMap) };
/** Tag keys an update removes. */
const Untag = { untag: Type.Optional(Type.Array(Str)) };
const ModelFields = { ...Described, protected_aliases: Type.Optional(Type.Array(Str)) };
const VersionFields = { ...Described, metadata: Type.Optional(AnyMap) };

export const CreateModelBody = Type.Object({ name: Str, kind: Type.Optional(Str), ...ModelFields }, strict);
export type CreateModelBody = Static<typeof CreateModelBody>;

export const UpdateModelBody = Type.Object({ ...ModelFields, ...Untag, new_name: Type.Optional(Str) }, strict);
export type UpdateModelBody = Static<typeof UpdateModelBody>;

export const OpenUploadBody = Type.Object({ files: Type.Array(ManifestFileSchema) }, strict);
export type OpenUploadBody = Static<typeof OpenUploadBody>;
/** A blob's partial upload: the bytes the server holds, from which the client resumes (decision 0011). */
const UploadOffsetSchema = Type.Object({ sha256: Str, offset: Type.Integer() });
export const OpenUploadResultSchema = Type.Object({ upload_id: Str, missing: Type.Array(Str), resume: Type.Array(UploadOffsetSchema), expires_at: Time });
export type OpenUploadResult = Static<typeof OpenUploadResultSchema>;
export const PutBlobResultSchema = Type.Object({ sha256: Str, size: Type.Integer(), created: Type.Boolean() });
export type PutBlobResult = Static<typeof PutBlobResultSchema>;
/** `GET /api/v1/uploads/{id}/blobs/{sha256}`: how much of the blob this session holds; `stored` when the whole blob is. */
export const UploadBlobStateSchema = Type.Object({ upload_id: Str, sha256: Str, offset: Type.Integer(), stored: Type.Boolean() });
export type UploadBlobState = Static<typeof UploadBlobStateSchema>;

/** Body of `POST /api/v1/models/{name}/versions`. */
export const CreateVersionBody = Type.Object(
  {
    files: Type.Array(ManifestFileSchema),
    /** Bytes of some of the files, stored (hash-checked, fsynced) before the commit. */
    blobs: Type.Optional(Type.Array(InlineBlobSchema)),
    upload_id: Type.Optional(Str),
    kind: Type.Optional(Str),
    ...VersionFields,
    source: Type.Optional(NullableStr),
    run_id: Type.Optional(NullableStr),
    dependencies: Type.Optional(Type.Array(DependencySchema)),
    /** Registers an external version (decision 0021): `files` empty, the bytes stay at this URI. */
    external_uri: Type.Optional(NullableStr),
  },
  strict,
);
export type CreateVersionBody = Static<typeof CreateVersionBody>;

export const UpdateVersionBody = Type.Object({ ...VersionFields, ...Untag }, strict);
export type UpdateVersionBody = Static<typeof UpdateVersionBody>;

export const SetAliasBody = Type.Object(
  { version: Type.Integer({ minimum: 1 }), expect: Type.Optional(ExpectVersion), reason: Type.Optional(NullableStr) },
  strict,
);
export type SetAliasBody = Static<typeof SetAliasBody>;

export const MoveAliasesBody = Type.Object(
  {
    moves: Type.Array(Type.Object({ alias: Str, version: NullableInt, expect: Type.Optional(ExpectVersion) }, strict), { minItems: 1, maxItems: 100 }),
    reason: Type.Optional(NullableStr),
  },
  strict,
);
export type MoveAliasesBody = Static<typeof MoveAliasesBody>;

export const ReasonBody = Type.Object({ reason: Type.Optional(NullableStr) }, strict);
export type ReasonBody = Static<typeof ReasonBody>;

export const AliasAtSchema = Type.Object({
  at: Time,
  ref: Str,
  version: NullableInt,
  set_at: Type.Union([Time, Type.Null()]),
  set_by: NullableStr,
  reason: NullableStr,
});
export type AliasAt = Static<typeof AliasAtSchema>;
/**
 * `model` is the model's audit snapshot as it was recorded then, sent as stored (an older
 * snapshot may lack fields a model has today), so the schema does not filter it.
 */
export const ModelAtSchema = Type.Object({
  at: Time,
  model: Type.Union([Type.Unsafe<Partial<Model>>({ ...AnyMap }), Type.Null()]),
  aliases: Type.Record(Type.String(), Type.Integer()),
});
export type ModelAt = Static<typeof ModelAtSchema>;

export const ChainVerdictSchema = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  last_seq: Type.Integer(),
  last_hash: Str,
  first_bad_seq: Type.Optional(Type.Integer()),
  problem: Type.Optional(StringEnum(CHAIN_PROBLEMS)),
});
export type ChainVerdict = Static<typeof ChainVerdictSchema>;

export const CreateRunBody = Type.Object(
  { experiment: Type.Optional(Str), name: Type.Optional(Str), params: Type.Optional(StrMap), tags: Type.Optional(StrMap), run_id: Type.Optional(Str) },
  strict,
);
export type CreateRunBody = Static<typeof CreateRunBody>;

export const LogRunBody = Type.Object(
  {
    params: Type.Optional(StrMap),
    metrics: Type.Optional(
      Type.Array(Type.Object({ key: Str, value: Type.Number(), step: Type.Optional(Type.Integer()), timestamp: Type.Optional(Type.Integer()) }, strict)),
    ),
    tags: Type.Optional(StrMap),
    datasets: Type.Optional(Type.Array(Type.Object({ name: Str, digest: Str, source: Type.Optional(NullableStr) }, strict))),
    status: Type.Optional(Str),
  },
  strict,
);
export type LogRunBody = Static<typeof LogRunBody>;

export const GcBody = Type.Object({ dry_run: Type.Optional(Type.Boolean()), grace_seconds: Type.Optional(Type.Number({ minimum: 0 })) }, strict);
export type GcBody = Static<typeof GcBody>;
export const GcResultSchema = Type.Object({
  dry_run: Type.Boolean(),
  grace_seconds: Type.Number(),
  scanned: Type.Integer(),
  candidates: Type.Integer(),
  bytes: Type.Integer(),
  removed: Type.Integer(),
  expired_uploads: Type.Integer(),
  /** Stale temp files (interrupted uploads) found, also in a dry run, and their bytes. */
  temp_files: Type.Integer(),
  temp_bytes: Type.Integer(),
  temp_files_removed: Type.Integer(),
});
export type GcResult = Static<typeof GcResultSchema>;
