import { Kind, Type, type Static, type TUnsafe } from '@sinclair/typebox';

/**
 * Wire shapes of governance (issue 9, DESIGN §2 "Evaluations, policies, gates, promotions"):
 * what was measured, the policy a promotion is judged by, the evidence the one gate function
 * reads, its report, and the promotion that stores it. The server validates and serialises with
 * them, the OpenAPI document is generated from them, and `berth gate check` reads the same shapes.
 */
const Str = Type.String();
const Time = Type.String({ format: 'date-time' });
const NullableStr = Type.Union([Type.String(), Type.Null()]);
const NullableNum = Type.Union([Type.Number(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const Metrics = Type.Record(Type.String(), Type.Number());
const strict = { additionalProperties: false } as const;
/** Version numbers are 32-bit integer columns. */
const VersionNumber = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });

function StringEnum<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ [Kind]: 'String', type: 'string', enum: [...values] });
}

/** Most metrics one evaluation records. */
export const MAX_EVALUATION_METRICS = 256;

export const EvaluationSchema = Type.Object({
  id: Str,
  model: Str,
  version: Type.Integer(),
  metrics: Metrics,
  /** `name@sha256:<hex>` or a plain name; null when the source did not say. */
  dataset: NullableStr,
  /** Who or what measured (`ci`, `berth eval run: python eval.py`, `berth eval latency`). */
  source: NullableStr,
  recorded_by: Str,
  measured_at: Time,
  recorded_at: Time,
  details: Type.Record(Type.String(), Type.Unknown()),
});
export type Evaluation = Static<typeof EvaluationSchema>;

/** Most versions one latest-metrics request asks about: a page of a versions table. */
export const MAX_LATEST_METRICS_VERSIONS = 100;

/** A version's newest value of each metric its evaluations recorded (GET /models/{name}/latest-metrics): a row of the UI's versions table. */
export const LatestMetricsSchema = Type.Object({
  version: Type.Integer(),
  metrics: Metrics,
  /** When the newest of those evaluations was recorded; null when the version has none. */
  recorded_at: Type.Union([Time, Type.Null()]),
});
export type LatestMetrics = Static<typeof LatestMetricsSchema>;
export const LatestMetricsListSchema = Type.Object({ items: Type.Array(LatestMetricsSchema) });

export const RecordEvaluationBody = Type.Object(
  {
    metrics: Type.Record(Type.String(), Type.Number(), { minProperties: 1, maxProperties: MAX_EVALUATION_METRICS }),
    dataset: Type.Optional(NullableStr),
    source: Type.Optional(NullableStr),
    measured_at: Type.Optional(Time),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  strict,
);
export type RecordEvaluationBody = Static<typeof RecordEvaluationBody>;

/** One gate of a policy, normalised: absent thresholds are null. */
export const PolicyGateSchema = Type.Object({
  name: Str,
  /** A recorded metric, or `run:<name>` for the latest value in the version's source run. */
  metric: Str,
  min: NullableNum,
  max: NullableNum,
  /** An alias whose current holder the candidate is compared with. */
  compare_to: NullableStr,
  /** How far below the compared value the candidate may fall (0 when compare_to is set without it). */
  max_drop: NullableNum,
  /** Only evaluations on this dataset count (`name` matches any digest of it). */
  dataset: NullableStr,
});
export type PolicyGate = Static<typeof PolicyGateSchema>;

export const PolicyDocumentSchema = Type.Object({
  policy: Str,
  target_alias: Str,
  gates: Type.Array(PolicyGateSchema),
  dataset: NullableStr,
  require_approvals: Type.Integer({ minimum: 0 }),
  /** Model-name patterns the policy is bound to: every move of target_alias on them is a promotion. */
  models: Type.Array(Str),
});
export type PolicyDocument = Static<typeof PolicyDocumentSchema>;

export const PolicySchema = Type.Object({
  name: Str,
  version: Type.Integer(),
  /** `sha256:<hex>` of the canonical JSON of `document`. */
  digest: Str,
  document: PolicyDocumentSchema,
  yaml: Str,
  created_by: Str,
  created_at: Time,
  /** True when the same document already was the latest version, so no version was added. */
  unchanged: Type.Boolean(),
});
export type Policy = Static<typeof PolicySchema>;

export const ApplyPolicyBody = Type.Object({ yaml: Str }, strict);
export type ApplyPolicyBody = Static<typeof ApplyPolicyBody>;

/** What the gates of one version read: its evaluations and run metrics, and those of compared alias holders. */
export const GateSubjectSchema = Type.Object({
  version: NullableInt,
  run_id: NullableStr,
  /** Latest value of each metric of the source run; null when the version has no run. */
  run_metrics: Type.Union([Metrics, Type.Null()]),
  /** Newest first. */
  evaluations: Type.Array(EvaluationSchema),
});
export type GateSubject = Static<typeof GateSubjectSchema>;

export const GateEvidenceSchema = Type.Object({
  model: Str,
  version: Type.Integer(),
  candidate: GateSubjectSchema,
  /** Each alias named by a compare_to gate; `version: null` when the alias is unset. */
  aliases: Type.Record(Type.String(), GateSubjectSchema),
});
export type GateEvidence = Static<typeof GateEvidenceSchema>;

export const GateResultSchema = Type.Object({
  name: Str,
  metric: Str,
  passed: Type.Boolean(),
  observed: NullableNum,
  threshold: NullableNum,
  /** The gate's line without its index and verdict (formatGateReport adds them). */
  message: Str,
  /** The evaluation the observed value came from; null for run metrics or when none. */
  evaluation: NullableStr,
  compare_to: NullableStr,
  compared_version: NullableInt,
  compared_value: NullableNum,
  delta: NullableNum,
});
export type GateResult = Static<typeof GateResultSchema>;

export const GateReportSchema = Type.Object({ passed: Type.Boolean(), gates: Type.Array(GateResultSchema) });
export type GateReport = Static<typeof GateReportSchema>;

export const GateEvidenceResultSchema = Type.Object({ policy: PolicySchema, evidence: GateEvidenceSchema });
export type GateEvidenceResult = Static<typeof GateEvidenceResultSchema>;
/** The evidence for a policy that is not applied (POST …/gate-evidence with its YAML): the document as parsed, and what its gates read. */
export const DraftGateEvidenceSchema = Type.Object({ document: PolicyDocumentSchema, evidence: GateEvidenceSchema });
export type DraftGateEvidence = Static<typeof DraftGateEvidenceSchema>;

export const PROMOTION_STATES = ['passed', 'failed', 'pending', 'rejected', 'stale'] as const;
export type PromotionState = (typeof PROMOTION_STATES)[number];
export const PROMOTION_KINDS = ['promotion', 'rollback'] as const;
export type PromotionKind = (typeof PROMOTION_KINDS)[number];

export const PromotionSchema = Type.Object({
  id: Str,
  model: Str,
  version: Type.Integer(),
  alias: Str,
  kind: StringEnum(PROMOTION_KINDS),
  state: StringEnum(PROMOTION_STATES),
  /** The alias holder when the promotion was requested (null when unset). */
  previous_version: NullableInt,
  policy: Type.Union([Type.Object({ name: Str, version: Type.Integer(), digest: Str }), Type.Null()]),
  report: Type.Union([GateReportSchema, Type.Null()]),
  required_approvals: Type.Integer(),
  approvals: Type.Array(Type.Object({ by: Str, at: Time, reason: NullableStr })),
  requested_by: Str,
  reason: NullableStr,
  created_at: Time,
  decided_at: Type.Union([Time, Type.Null()]),
});
export type Promotion = Static<typeof PromotionSchema>;

export const RequestPromotionBody = Type.Object(
  {
    version: VersionNumber,
    alias: Type.Optional(Str),
    policy: Type.Optional(Str),
    expect: Type.Optional(Type.Union([VersionNumber, Type.Null()])),
    reason: Type.Optional(NullableStr),
  },
  strict,
);
export type RequestPromotionBody = Static<typeof RequestPromotionBody>;

export const RollbackBody = Type.Object({ reason: Str, expect: Type.Optional(VersionNumber) }, strict);
export type RollbackBody = Static<typeof RollbackBody>;
