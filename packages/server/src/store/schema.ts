import type { Generated } from 'kysely';

/**
 * Table types for Kysely. SQL is snake_case with plural tables; times are integer
 * milliseconds since the epoch; JSON columns are text (the same in SQLite and PostgreSQL) and
 * are parsed by the explicit row → entity mappers in each aggregate file.
 */
export interface ModelsTable {
  id: Generated<number>;
  name: string;
  kind: string;
  description: string;
  tags: string;
  protected_aliases: string;
  /** Counter of the last version number handed out: numbers are never reused. */
  last_version: number;
  created_at: number;
  updated_at: number;
}

export interface VersionsTable {
  id: Generated<number>;
  model_id: number;
  version: number;
  digest: string;
  status: string;
  stage: string;
  size: number;
  file_count: number;
  metadata: string;
  tags: string;
  description: string;
  source: string | null;
  run_id: string | null;
  dependencies: string;
  /** Set on an external version (decision 0021): where its bytes are; null for every content-addressed one. */
  external_uri: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** Scalar fields of version metadata for search (migration 0013): `core`'s metadataFields of the JSON column. */
export interface VersionMetadataTable {
  version_id: number;
  key: string;
  value: string;
}

export interface VersionFilesTable {
  version_id: number;
  path: string;
  size: number;
  sha256: string;
}

export interface VersionDependenciesTable {
  version_id: number;
  dep_model_id: number;
  dep_version: number;
  dep_digest: string;
}

export interface AliasesTable {
  model_id: number;
  alias: string;
  version: number;
  frozen: number;
  updated_by: string;
  updated_at: number;
}

export interface AliasHistoryTable {
  id: Generated<number>;
  seq: number;
  model_id: number;
  alias: string;
  action: string;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  at: number;
  reason: string | null;
}

export interface AuditEventsTable {
  seq: number;
  at: number;
  actor: string;
  action: string;
  model_id: number | null;
  model: string | null;
  subject_type: string;
  subject: string;
  before: string | null;
  after: string | null;
  reason: string | null;
  prev_hash: string;
  hash: string;
}

/** The outbox (migration 0005): one row per state change, keyed by the audit seq. */
export interface EventsTable {
  seq: number;
  at: number;
  type: string;
  model: string | null;
  /** The event as subscribers receive it (JSON of core's BerthEvent). */
  payload: string;
}

/** Webhook subscriptions (migration 0008); `events` is a JSON array of event types or patterns. */
export interface WebhooksTable {
  id: string;
  url: string;
  events: string;
  secret: string;
  description: string | null;
  active: number;
  flavor: string;
  name: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** Per webhook: the last outbox seq turned into deliveries, and which server delivers until when. */
export interface WebhookDispatchTable {
  webhook_id: string;
  cursor: number;
  lease_owner: string | null;
  lease_until: number;
}

export interface WebhookDeliveriesTable {
  n: Generated<number>;
  id: string;
  webhook_id: string;
  event_seq: number;
  event_type: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  latency_ms: number | null;
  next_attempt_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  at: number;
  status: number | null;
  error: string | null;
  latency_ms: number;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface UploadsTable {
  id: string;
  created_by: string;
  created_at: number;
  expires_at: number;
}

export interface UploadBlobsTable {
  upload_id: string;
  sha256: string;
}

export interface RunsTable {
  id: string;
  experiment: string;
  name: string | null;
  status: string;
  params: string;
  tags: string;
  datasets: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  experiment_id: string | null;
  start_time: number | null;
  end_time: number | null;
  lifecycle_stage: string | null;
  outputs: string | null;
}

export interface ExperimentsTable {
  id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  tags: string;
  created_at: number;
  updated_at: number;
}

export interface ExperimentCounterTable {
  id: number;
  last: number;
}

export interface LoggedModelsTable {
  id: string;
  experiment_id: string;
  name: string;
  source_run_id: string | null;
  status: string;
  model_type: string | null;
  params: string;
  tags: string;
  created_at: number;
  updated_at: number;
}

export interface ArtifactsTable {
  path: string;
  sha256: string;
  size: number;
  updated_at: number;
}

/** Tags as rows for indexed search (migration 0003); the JSON column is the copy reads return. */
export interface ModelTagsTable {
  model_id: number;
  key: string;
  value: string;
}

export interface VersionTagsTable {
  version_id: number;
  key: string;
  value: string;
}

export interface RunMetricsTable {
  id: Generated<number>;
  run_id: string;
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

/** Bearer tokens (migration 0007); `models` is a JSON array of name patterns, NULL for every model. */
export interface TokensTable {
  name: string;
  hash: string;
  role: string;
  models: string | null;
  expires_at: number | null;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
}

/** Governance (migration 0006). JSON columns are text. */
export interface EvaluationsTable {
  id: Generated<number>;
  model_id: number;
  version: number;
  metrics: string;
  dataset: string | null;
  source: string | null;
  details: string;
  recorded_by: string;
  measured_at: number;
  recorded_at: number;
}

export interface PoliciesTable {
  id: Generated<number>;
  name: string;
  version: number;
  digest: string;
  document: string;
  yaml: string;
  target_alias: string;
  bound: number;
  latest: number;
  created_by: string;
  created_at: number;
}

export interface PromotionsTable {
  id: string;
  model_id: number;
  version: number;
  alias: string;
  kind: string;
  state: string;
  previous_version: number | null;
  policy_name: string | null;
  policy_version: number | null;
  policy_digest: string | null;
  report: string | null;
  required_approvals: number;
  requested_by: string;
  reason: string | null;
  created_at: number;
  decided_at: number | null;
}

export interface ApprovalsTable {
  promotion_id: string;
  approver: string;
  at: number;
  reason: string | null;
}

export interface DeploymentsTable {
  id: Generated<number>;
  name: string;
  version: number;
  digest: string;
  model_id: number;
  model: string;
  document: string;
  yaml: string;
  latest: number;
  created_by: string;
  created_at: number;
}

export interface DeploymentRolloutsTable {
  deployment: string;
  id: string;
  kind: string;
  stable_version: number | null;
  candidate_version: number;
  state: string;
  step: number;
  weight: number;
  started_at: number;
  step_started_at: number;
  updated_at: number;
  last_decision: string | null;
}

export interface DeploymentServedTable {
  id: Generated<number>;
  deployment: string;
  gateway: string;
  from_at: number;
  to_at: number;
  versions: string;
  shadow: string | null;
  mix: string;
  received_at: number;
}

/** What inspecting a blob on upload found (migration 0009); `inspection` is the core BlobInspection as JSON. */
export interface BlobInspectionsTable {
  sha256: string;
  format: string;
  inspection: string;
  inspected_at: number;
}

export interface Database {
  models: ModelsTable;
  versions: VersionsTable;
  version_files: VersionFilesTable;
  version_dependencies: VersionDependenciesTable;
  aliases: AliasesTable;
  alias_history: AliasHistoryTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  events: EventsTable;
  webhooks: WebhooksTable;
  webhook_dispatch: WebhookDispatchTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  blob_inspections: BlobInspectionsTable;
  uploads: UploadsTable;
  upload_blobs: UploadBlobsTable;
  runs: RunsTable;
  run_metrics: RunMetricsTable;
  experiments: ExperimentsTable;
  experiment_counter: ExperimentCounterTable;
  logged_models: LoggedModelsTable;
  artifacts: ArtifactsTable;
  model_tags: ModelTagsTable;
  version_tags: VersionTagsTable;
  version_metadata: VersionMetadataTable;
  tokens: TokensTable;
  evaluations: EvaluationsTable;
  policies: PoliciesTable;
  promotions: PromotionsTable;
  approvals: ApprovalsTable;
  deployments: DeploymentsTable;
  deployment_rollouts: DeploymentRolloutsTable;
  deployment_served: DeploymentServedTable;
}
