import { Type, type TSchema } from '@sinclair/typebox';

/**
 * JSON schemas of the native API. The server validates requests and serialises (and
 * filters) responses with them, and the OpenAPI document is generated from them, so the three
 * cannot drift apart. Request bodies reject unknown fields (docs/decisions/0002).
 */
const Str = Type.String();
const StrMap = Type.Record(Type.String(), Type.String());
const AnyMap = Type.Record(Type.String(), Type.Unknown());
const Time = Type.String({ format: 'date-time' });
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const NullableStr = Type.Union([Type.String(), Type.Null()]);
const strict = { additionalProperties: false } as const;

export const ManifestFileSchema = Type.Object({ path: Str, size: Type.Integer({ minimum: 0 }), sha256: Str }, strict);
export const DependencySchema = Type.Object({ model: Str, version: Type.Integer({ minimum: 1 }), digest: Str }, strict);

export const ModelSchema = Type.Object({
  name: Str,
  kind: Str,
  description: Str,
  tags: StrMap,
  aliases: Type.Record(Type.String(), Type.Integer()),
  protected_aliases: Type.Array(Str),
  frozen_aliases: Type.Array(Str),
  latest_version: NullableInt,
  version_count: Type.Integer(),
  created_at: Time,
  updated_at: Time,
});

export const VersionSchema = Type.Object({
  model: Str,
  version: Type.Integer(),
  digest: Str,
  status: Str,
  stage: Str,
  size: Type.Integer(),
  file_count: Type.Integer(),
  files: Type.Optional(Type.Array(ManifestFileSchema)),
  metadata: AnyMap,
  tags: StrMap,
  description: Str,
  source: NullableStr,
  run_id: NullableStr,
  dependencies: Type.Array(DependencySchema),
  aliases: Type.Array(Str),
  created_by: Str,
  created_at: Time,
  updated_at: Time,
});

export const AliasSchema = Type.Object({
  model: Str,
  alias: Str,
  version: Type.Integer(),
  protected: Type.Boolean(),
  frozen: Type.Boolean(),
  updated_by: Str,
  updated_at: Time,
});

export const AliasHistoryEntrySchema = Type.Object({
  seq: Type.Integer(),
  at: Time,
  actor: Str,
  action: Str,
  model: Str,
  alias: Str,
  from_version: NullableInt,
  to_version: NullableInt,
  reason: NullableStr,
});

export const AuditEventSchema = Type.Object({
  seq: Type.Integer(),
  at: Time,
  actor: Str,
  action: Str,
  model: NullableStr,
  subject: Str,
  before: Type.Unknown(),
  after: Type.Unknown(),
  reason: NullableStr,
  prev_hash: Str,
  hash: Str,
});

export const RunSchema = Type.Object({
  run_id: Str,
  experiment: Str,
  name: NullableStr,
  status: Str,
  params: StrMap,
  metrics: Type.Record(Type.String(), Type.Number()),
  tags: StrMap,
  datasets: Type.Array(Type.Object({ name: Str, digest: Str, source: NullableStr })),
  created_at: Time,
  updated_at: Time,
});

export const ErrorSchema = Type.Object({
  error: Type.Object({ code: Str, message: Str, details: AnyMap }),
});

export function PageSchema<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next_cursor: NullableStr });
}

export const PageQuery = Type.Object({ cursor: Type.Optional(Str), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) });

export const CreateModelBody = Type.Object(
  {
    name: Str,
    kind: Type.Optional(Str),
    description: Type.Optional(Str),
    tags: Type.Optional(StrMap),
    protected_aliases: Type.Optional(Type.Array(Str)),
  },
  strict,
);

export const UpdateModelBody = Type.Object(
  {
    description: Type.Optional(Str),
    tags: Type.Optional(StrMap),
    untag: Type.Optional(Type.Array(Str)),
    new_name: Type.Optional(Str),
    protected_aliases: Type.Optional(Type.Array(Str)),
  },
  strict,
);

export const OpenUploadBody = Type.Object({ files: Type.Array(ManifestFileSchema) }, strict);
export const OpenUploadReply = Type.Object({ upload_id: Str, missing: Type.Array(Str), expires_at: Time });
export const PutBlobReply = Type.Object({ sha256: Str, size: Type.Integer(), created: Type.Boolean() });

export const CreateVersionBody = Type.Object(
  {
    files: Type.Array(ManifestFileSchema),
    blobs: Type.Optional(Type.Array(Type.Object({ sha256: Str, base64: Str }, strict))),
    upload_id: Type.Optional(Str),
    kind: Type.Optional(Str),
    description: Type.Optional(Str),
    metadata: Type.Optional(AnyMap),
    tags: Type.Optional(StrMap),
    source: Type.Optional(NullableStr),
    run_id: Type.Optional(NullableStr),
    dependencies: Type.Optional(Type.Array(DependencySchema)),
  },
  strict,
);

export const UpdateVersionBody = Type.Object(
  {
    description: Type.Optional(Str),
    metadata: Type.Optional(AnyMap),
    tags: Type.Optional(StrMap),
    untag: Type.Optional(Type.Array(Str)),
  },
  strict,
);

export const SetAliasBody = Type.Object(
  { version: Type.Integer({ minimum: 1 }), expect: Type.Optional(NullableInt), reason: Type.Optional(NullableStr) },
  strict,
);

export const MoveAliasesBody = Type.Object(
  {
    moves: Type.Array(Type.Object({ alias: Str, version: NullableInt, expect: Type.Optional(NullableInt) }, strict), { minItems: 1, maxItems: 100 }),
    reason: Type.Optional(NullableStr),
  },
  strict,
);

export const ReasonBody = Type.Object({ reason: Type.Optional(NullableStr) }, strict);

export const AliasAtReply = Type.Object({ at: Time, ref: Str, version: NullableInt, set_at: Type.Union([Time, Type.Null()]), set_by: NullableStr, reason: NullableStr });
export const ModelAtReply = Type.Object({ at: Time, model: Type.Union([AnyMap, Type.Null()]), aliases: Type.Record(Type.String(), Type.Integer()) });

export const VerifyReply = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  last_seq: Type.Integer(),
  last_hash: Str,
  first_bad_seq: Type.Optional(Type.Integer()),
  problem: Type.Optional(Str),
});

export const CreateRunBody = Type.Object(
  { experiment: Type.Optional(Str), name: Type.Optional(Str), params: Type.Optional(StrMap), tags: Type.Optional(StrMap), run_id: Type.Optional(Str) },
  strict,
);

export const LogRunBody = Type.Object(
  {
    params: Type.Optional(StrMap),
    metrics: Type.Optional(Type.Array(Type.Object({ key: Str, value: Type.Number(), step: Type.Optional(Type.Integer()), timestamp: Type.Optional(Type.Integer()) }, strict))),
    tags: Type.Optional(StrMap),
    datasets: Type.Optional(Type.Array(Type.Object({ name: Str, digest: Str, source: Type.Optional(NullableStr) }, strict))),
    status: Type.Optional(Str),
  },
  strict,
);

export const GcBody = Type.Object({ dry_run: Type.Optional(Type.Boolean()), grace_seconds: Type.Optional(Type.Number({ minimum: 0 })) }, strict);
export const GcReply = Type.Object({
  dry_run: Type.Boolean(),
  grace_seconds: Type.Number(),
  scanned: Type.Integer(),
  candidates: Type.Integer(),
  bytes: Type.Integer(),
  removed: Type.Integer(),
  expired_uploads: Type.Integer(),
  temp_files_removed: Type.Integer(),
});
