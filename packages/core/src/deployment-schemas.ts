import { Kind, Type, type Static, type TUnsafe } from '@sinclair/typebox';

/**
 * Wire shapes of deployments and the gateway (issue 12, DESIGN §2 "Deployments and the
 * gateway"): the deployment document as the registry stores it (parsed and normalised from its
 * YAML), the rollout the registry holds for it, the decisions a gateway sends, what a gateway
 * reports it served, and the one read a gateway routes from. Server, SDK, CLI and gateway all
 * speak these shapes.
 */
const Str = Type.String();
const Time = Type.String({ format: 'date-time' });
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const strict = { additionalProperties: false } as const;
const VersionNumber = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });

function StringEnum<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ [Kind]: 'String', type: 'string', enum: [...values] });
}

export const DEPLOYMENT_STRATEGIES = ['single', 'blue-green', 'canary', 'shadow', 'ab'] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

/** One canary step: the candidate's share of traffic, and how long it holds before analysis may advance it. */
export const CanaryStepSchema = Type.Object({ weight: Type.Integer({ minimum: 0, maximum: 100 }), pause_ms: Type.Integer({ minimum: 0 }) });
export type CanaryStep = Static<typeof CanaryStepSchema>;

/** Which endpoint serves which versions. `adapter` is the OpenAI `model` sent upstream, a template of {model} {version} {adapter} {base}. */
export const DeploymentUpstreamSchema = Type.Object({
  versions: Type.Union([Type.Array(VersionNumber), Type.Literal('*')]),
  url: Str,
  adapter: Type.Union([Str, Type.Null()]),
  protocol: StringEnum(['openai', 'http'] as const),
  /** Path below url the gateway probes for health (GET, 2xx = healthy); null: `/models` for openai, none for http. */
  health: Type.Union([Str, Type.Null()]),
  timeout_ms: Type.Integer({ minimum: 1 }),
});
export type DeploymentUpstream = Static<typeof DeploymentUpstreamSchema>;

export const SlosSchema = Type.Object({
  error_rate: Type.Union([Type.Object({ max: Type.Number(), min_samples: Type.Integer({ minimum: 1 }) }), Type.Null()]),
  p99_latency_ms: Type.Union([Type.Object({ max: Type.Number(), min_samples: Type.Integer({ minimum: 1 }) }), Type.Null()]),
  /** At most max_fraction_below of the last `window` judged outputs may score below min_score; inconclusive under min_samples. */
  quality: Type.Union([
    Type.Object({
      min_score: Type.Number(),
      max_fraction_below: Type.Number(),
      window: Type.Integer({ minimum: 1 }),
      min_samples: Type.Integer({ minimum: 1 }),
    }),
    Type.Null(),
  ]),
});
export type Slos = Static<typeof SlosSchema>;

/** An OpenAI-compatible judge: a sampled share of answers is scored with a rubric prompt version pinned in the registry. */
export const JudgeSchema = Type.Object({
  url: Str,
  model: Str,
  /** A prompt version pin (`name:N` or `name@sha256:…`): its template is rendered with {{ input }} and {{ output }}. */
  rubric: Str,
  sample: Type.Number({ minimum: 0, maximum: 1 }),
  timeout_ms: Type.Integer({ minimum: 1 }),
});
export type Judge = Static<typeof JudgeSchema>;

/** A deployment document, normalised: every optional key present (null or its default). */
export const DeploymentDocumentSchema = Type.Object({
  deployment: Str,
  model: Str,
  strategy: StringEnum(DEPLOYMENT_STRATEGIES),
  stable: Str,
  candidate: Type.Union([Str, Type.Null()]),
  /** Canary only; [] otherwise. */
  steps: Type.Array(CanaryStepSchema),
  /** A/B only: each variant alias's share (summing to 100) and the request key that makes it sticky. */
  ab: Type.Union([Type.Object({ weights: Type.Record(Type.String(), Type.Integer({ minimum: 0, maximum: 100 })), key: Str }), Type.Null()]),
  upstreams: Type.Array(DeploymentUpstreamSchema),
  slos: SlosSchema,
  analysis_interval_ms: Type.Integer({ minimum: 1 }),
  /** After the stable alias moves (a canary completed, a switch, or a promotion by hand): how long its SLOs are watched; 0 for none. */
  bake_ms: Type.Integer({ minimum: 0 }),
  judge: Type.Union([JudgeSchema, Type.Null()]),
  /** Shadow only: the share of live requests copied to the candidate. */
  shadow: Type.Union([Type.Object({ sample: Type.Number({ minimum: 0, maximum: 1 }) }), Type.Null()]),
  /** Blue-green: consecutive healthy probes a new side needs, their spacing, and how long it may take before the move is rolled back. */
  warmup: Type.Object({ checks: Type.Integer({ minimum: 1 }), interval_ms: Type.Integer({ minimum: 1 }), timeout_ms: Type.Integer({ minimum: 1 }) }),
});
export type DeploymentDocument = Static<typeof DeploymentDocumentSchema>;

export const ApplyDeploymentBody = Type.Object({ yaml: Type.String() }, strict);
export type ApplyDeploymentBody = Static<typeof ApplyDeploymentBody>;

/** A stored deployment version. */
export const DeploymentSchema = Type.Object({
  name: Str,
  version: Type.Integer(),
  digest: Str,
  model: Str,
  document: DeploymentDocumentSchema,
  yaml: Str,
  created_by: Str,
  created_at: Time,
  /** True when applying stored nothing new (the same document was the latest). */
  unchanged: Type.Optional(Type.Boolean()),
});
export type Deployment = Static<typeof DeploymentSchema>;

export const ROLLOUT_KINDS = ['canary', 'blue-green', 'bake'] as const;
export type RolloutKind = (typeof ROLLOUT_KINDS)[number];
export const ROLLOUT_STATES = ['progressing', 'held', 'completed', 'aborted'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** The registry's record of a decision and the evidence it was taken on. */
export const RolloutDecisionSchema = Type.Object({
  decision: Str,
  at: Time,
  gateway: Str,
  reason: Type.Union([Str, Type.Null()]),
  evidence: Type.Record(Type.String(), Type.Unknown()),
});
export type RolloutDecision = Static<typeof RolloutDecisionSchema>;

/**
 * The rollout a deployment is in (at most one current): a canary of `candidate_version`, a
 * blue-green switch to it, or a bake of the new stable. `weight` is the candidate's current share.
 */
export const RolloutSchema = Type.Object({
  id: Str,
  deployment: Str,
  kind: StringEnum(ROLLOUT_KINDS),
  stable_version: NullableInt,
  candidate_version: Type.Integer(),
  state: StringEnum(ROLLOUT_STATES),
  step: Type.Integer({ minimum: 0 }),
  weight: Type.Integer({ minimum: 0, maximum: 100 }),
  started_at: Time,
  step_started_at: Time,
  updated_at: Time,
  last_decision: Type.Union([RolloutDecisionSchema, Type.Null()]),
});
export type Rollout = Static<typeof RolloutSchema>;

export const ROLLOUT_DECISIONS = ['start', 'advance', 'hold', 'abort', 'complete'] as const;
export type RolloutDecisionName = (typeof ROLLOUT_DECISIONS)[number];

/**
 * `POST /api/v1/deployments/{name}/rollout`: a gateway's decision. Every decision but `start`
 * names the rollout and the step it was taken at (compare-and-swap: of two gateways deciding the
 * same step, one gets 409 CONFLICT and follows the other).
 */
export const RolloutDecisionBody = Type.Object(
  {
    decision: StringEnum(ROLLOUT_DECISIONS),
    /** For start. */
    kind: Type.Optional(StringEnum(ROLLOUT_KINDS)),
    candidate_version: VersionNumber,
    /** For start: the version serving before the candidate (blue-green keeps routing to it until the switch). */
    stable_version: Type.Optional(Type.Union([VersionNumber, Type.Null()])),
    rollout_id: Type.Optional(Str),
    expect_step: Type.Optional(Type.Integer({ minimum: 0 })),
    gateway: Type.String({ minLength: 1, maxLength: 200 }),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    evidence: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  strict,
);
export type RolloutDecisionBody = Static<typeof RolloutDecisionBody>;

/** What one version did in a report window. `weight` is the share the gateway was routing to it (percent). */
export const ServedVersionSchema = Type.Object(
  {
    version: VersionNumber,
    weight: Type.Number({ minimum: 0, maximum: 100 }),
    /** True for the shadow side: it received copies and never answered a client. */
    shadow: Type.Boolean(),
    requests: Type.Integer({ minimum: 0 }),
    errors: Type.Integer({ minimum: 0 }),
    p50_ms: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    p99_ms: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    tokens_in: Type.Integer({ minimum: 0 }),
    tokens_out: Type.Integer({ minimum: 0 }),
    /** Quality signals in the window: how many scores, how many below the SLO's min_score, and their mean. */
    judged: Type.Integer({ minimum: 0 }),
    below: Type.Integer({ minimum: 0 }),
    mean_score: Type.Union([Type.Number(), Type.Null()]),
  },
  strict,
);
export type ServedVersion = Static<typeof ServedVersionSchema>;

/** Shadow comparison in a window: how often the candidate's answer differed from the one returned. */
export const ShadowReportSchema = Type.Object(
  {
    compared: Type.Integer({ minimum: 0 }),
    differed: Type.Integer({ minimum: 0 }),
    diff_rate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    candidate_errors: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type ShadowReport = Static<typeof ShadowReportSchema>;

/** `POST /api/v1/deployments/{name}/served`: what a gateway served over [from, to). */
export const ServedReportBody = Type.Object(
  {
    gateway: Type.String({ minLength: 1, maxLength: 200 }),
    from: Time,
    to: Time,
    versions: Type.Array(ServedVersionSchema, { maxItems: 100 }),
    shadow: Type.Optional(Type.Union([ShadowReportSchema, Type.Null()])),
  },
  strict,
);
export type ServedReportBody = Static<typeof ServedReportBody>;

export const ServedReportSchema = Type.Object({
  deployment: Str,
  gateway: Str,
  from: Time,
  to: Time,
  versions: Type.Array(ServedVersionSchema),
  shadow: Type.Union([ShadowReportSchema, Type.Null()]),
  received_at: Time,
});
export type ServedReport = Static<typeof ServedReportSchema>;

/** `GET /api/v1/deployments/{name}/served?at=T`: the reports whose window holds T, and each version's share of the requests in them. */
export const ServedAtSchema = Type.Object({
  deployment: Str,
  at: Time,
  reports: Type.Array(ServedReportSchema),
  versions: Type.Array(Type.Object({ version: Type.Integer(), requests: Type.Integer(), share: Type.Number(), weight: Type.Number(), shadow: Type.Boolean() })),
});
export type ServedAt = Static<typeof ServedAtSchema>;

/** `GET /api/v1/deployments/{name}/rollout?at=T`: the rollout as it stood at T (null: none then). */
export const RolloutAtSchema = Type.Object({ deployment: Str, at: Time, rollout: Type.Union([RolloutSchema, Type.Null()]) });
export type RolloutAt = Static<typeof RolloutAtSchema>;

/** A version as the gateway needs it: enough to verify its digest and to load a bundle's pinned parts. */
export const RoutedVersionSchema = Type.Object({
  version: Type.Integer(),
  digest: Str,
  kind: Str,
  content_addressed: Type.Boolean(),
  files: Type.Array(Type.Object({ path: Str, size: Type.Integer(), sha256: Str })),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});
export type RoutedVersion = Static<typeof RoutedVersionSchema>;

/**
 * `GET /api/v1/deployments/{name}/routing`: everything a gateway routes one deployment by, read
 * in one transaction. `seq` is the last event at that read: following events after it misses
 * nothing. `versions` holds every version the aliases or the rollout name.
 */
export const RoutingSnapshotSchema = Type.Object({
  seq: Type.Integer({ minimum: 0 }),
  deployment: DeploymentSchema,
  aliases: Type.Record(Type.String(), NullableInt),
  versions: Type.Array(RoutedVersionSchema),
  rollout: Type.Union([RolloutSchema, Type.Null()]),
});
export type RoutingSnapshot = Static<typeof RoutingSnapshotSchema>;

/** `GET /api/v1/deployments/{name}/status`: the document's version, the rollout, and the latest report of each gateway heard from lately. */
export const DeploymentStatusSchema = Type.Object({
  deployment: DeploymentSchema,
  aliases: Type.Record(Type.String(), NullableInt),
  rollout: Type.Union([RolloutSchema, Type.Null()]),
  reports: Type.Array(ServedReportSchema),
});
export type DeploymentStatus = Static<typeof DeploymentStatusSchema>;
