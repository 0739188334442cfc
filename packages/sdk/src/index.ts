import {
  BerthError,
  INLINE_BLOB_MAX_BYTES,
  PROMPT_FILES,
  isErrorCode,
  parseReference,
  sha256Hex,
  isSha256Hex,
  validateFilePath,
  type Alias,
  type AliasAt,
  type AliasHistoryEntry,
  type AuditEvent,
  type BerthEvent,
  type Card,
  type ChainVerdict,
  type CreateBundleBody,
  type CreateTokenBody,
  type LineageDirection,
  type LineageEntry,
  type CreatedToken,
  type CreateModelBody,
  type CreateWebhookBody,
  type Deployment,
  type DeploymentStatus,
  type Rollout,
  type RolloutAt,
  type RolloutDecisionBody,
  type RoutingSnapshot,
  type ServedAt,
  type ServedReport,
  type ServedReportBody,
  type Delivery,
  type DeliveryDetail,
  type CreateRunBody,
  type CreateVersionBody,
  type ErrorCode,
  type Evaluation,
  type LatestMetrics,
  type DraftGateEvidence,
  type GateEvidence,
  type GcResult,
  type LogRunBody,
  type ManifestFile,
  type Model,
  type Token,
  type WhoAmI,
  type ModelAt,
  type MoveAliasesBody,
  type OpenUploadResult,
  type Page,
  type Policy,
  type Promotion,
  type RenderedPrompt,
  type PutBlobResult,
  type RecordEvaluationBody,
  type RequestPromotionBody,
  type Run,
  type UpdateModelBody,
  type UpdateVersionBody,
  type UpdateWebhookBody,
  type UploadBlobState,
  type Version,
  type Webhook,
  type WebhookTestResult,
  type SearchPage,
  type CatalogAtPage,
} from '@berth/core';
import { followEvents, type EventQuery } from './events.js';

export type {
  CreateModelBody,
  UpdateModelBody,
  CreateVersionBody,
  UpdateVersionBody,
  CreateRunBody,
  LogRunBody,
  OpenUploadResult,
  PutBlobResult,
  AliasAt,
  ModelAt,
  GcResult,
  ChainVerdict,
  CreateWebhookBody,
  UpdateWebhookBody,
  Webhook,
  Delivery,
  DeliveryDetail,
  WebhookTestResult,
  RecordEvaluationBody,
  RequestPromotionBody,
  BerthEvent,
  EventQuery,
  RenderedPrompt,
};

/** Where `berth server` listens by default (DESIGN §3). The client never reads the environment. */
export const DEFAULT_URL = 'http://127.0.0.1:7878';

export interface ClientOptions {
  /** Server URL; default http://127.0.0.1:7878. */
  url?: string;
  /** Who is asking, recorded in the audit trail (sent as x-berth-actor). */
  actor?: string;
  /** A bearer token (`berth token create`), sent as `Authorization: Bearer` on every request. */
  token?: string;
  /** A fetch to send requests with (default: the global one). */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** One move of `moveAliases`: `version: null` deletes the alias; `expect` is the version the caller believes it holds now. */
export type AliasMove = MoveAliasesBody['moves'][number];

/** A byte range, both ends inclusive; `end` omitted means "to the end". */
export interface ByteRange {
  start: number;
  end?: number;
}

/** A blob body: bytes in memory, a web stream, or any async iterable of chunks (a Node stream). */
export type BlobBody = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

const seg = encodeURIComponent;

/**
 * The typed client of Berth's native API (docs/api.md), over `fetch`. Every failure surfaces
 * as a `BerthError` with the server's code, so callers (the CLI) switch on codes, not on
 * statuses; this class is where foreign errors (network, non-JSON answers) are translated.
 */
export class BerthClient {
  readonly url: string;
  private readonly actor?: string;
  private readonly authorization?: string;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions = {}) {
    this.url = (opts.url ?? DEFAULT_URL).replace(/\/+$/, '');
    this.actor = opts.actor;
    this.authorization = opts.token ? `Bearer ${opts.token}` : undefined;
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Headers every request carries. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.actor ? { 'x-berth-actor': this.actor } : {}), ...(this.authorization ? { authorization: this.authorization } : {}), ...extra };
  }

  endpoint(path: string, query?: Query): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) qs.set(k, String(v));
    const s = qs.toString();
    return `${this.url}${path}${s ? `?${s}` : ''}`;
  }

  /** Sends a request and returns the raw response; non-2xx answers become BerthError. */
  async raw(method: string, path: string, opts: RequestOptions & { rawBody?: BodyInit } = {}): Promise<Response> {
    const headers = this.headers(opts.headers);
    let body: BodyInit | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    // A streamed request body needs half duplex (fetch spec; Node's fetch refuses it otherwise).
    const init = { method, headers, body, signal: opts.signal, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit;
    let res: Response;
    try {
      res = await this.fetchImpl(this.endpoint(path, opts.query), init);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw unreachable(this.url, err);
    }
    if (!res.headers.has(BERTH_API_HEADER)) throw await notBerth(res, this.url);
    if (!res.ok && res.status !== 304) throw await errorFrom(res, this.url);
    return res;
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (res.status === 204 || method === 'HEAD') return undefined as T;
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new BerthError(
        'INTERNAL',
        `the server at ${this.url} answered ${method} ${path} with something that is not JSON: is --url (or BERTH_URL) pointing at a Berth server?`,
        {
          url: this.url,
          status: res.status,
        },
      );
    }
  }

  /** Every item of a paginated list, page by page (`next_cursor` until null). */
  async *paginate<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncIterable<T> {
    let cursor: string | undefined;
    do {
      const page = await fetchPage(cursor);
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  health(): Promise<{ status: string }> {
    return this.json('GET', '/healthz');
  }

  // ---- models

  createModel(input: CreateModelBody): Promise<Model> {
    return this.json('POST', '/api/v1/models', { body: input });
  }
  listModels(opts: { cursor?: string; limit?: number; kind?: string; prefix?: string } = {}): Promise<Page<Model>> {
    return this.json('GET', '/api/v1/models', { query: opts });
  }
  /** Every model, ordered by name, fetching pages as it goes. */
  iterModels(opts: { kind?: string; prefix?: string; pageSize?: number } = {}): AsyncIterable<Model> {
    return this.paginate((cursor) => this.listModels({ kind: opts.kind, prefix: opts.prefix, limit: opts.pageSize ?? 500, cursor }));
  }
  getModel(name: string): Promise<Model> {
    return this.json('GET', `/api/v1/models/${seg(name)}`);
  }
  /** Description, tags (merge; `untag` removes), protected aliases, or a rename with `new_name`. */
  updateModel(name: string, patch: UpdateModelBody): Promise<Model> {
    return this.json('PATCH', `/api/v1/models/${seg(name)}`, { body: patch });
  }
  deleteModel(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.json('DELETE', `/api/v1/models/${seg(name)}`, { query: { force: opts.force || undefined } });
  }

  // ---- uploads and blobs (DESIGN §2 "Blobs and uploads")

  /** Opens an upload session: the server answers which blobs it lacks and protects the rest from gc. */
  openUpload(files: ManifestFile[]): Promise<OpenUploadResult> {
    return this.json('POST', '/api/v1/uploads', { body: { files } });
  }
  /**
   * Streams one blob; the server keeps it only if the bytes hash to `sha256`. With `uploadId`
   * the upload is resumable (a cut-off body leaves its bytes to that session); with `offset`
   * too, `body` is the blob from that byte on, continuing the bytes the session holds, and
   * `size` is the whole blob's.
   */
  async putBlob(
    sha256: string,
    body: BlobBody,
    size?: number,
    opts: { signal?: AbortSignal; uploadId?: string; offset?: number } = {},
  ): Promise<PutBlobResult> {
    const offset = opts.offset ?? 0;
    if (offset > 0 && (size === undefined || opts.uploadId === undefined))
      throw new BerthError('INVALID_ARGUMENT', 'a resumed upload needs its session (uploadId) and the blob size', { field: 'offset' });
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (size !== undefined) headers['content-length'] = String(size - offset);
    if (offset > 0 && size !== undefined) headers['content-range'] = `bytes ${offset}-${size - 1}/${size}`;
    const res = await this.raw('PUT', `/api/v1/blobs/${blobKey(sha256)}`, {
      rawBody: (body instanceof Uint8Array || body instanceof ReadableStream ? body : streamOf(body)) as BodyInit,
      headers,
      query: { upload_id: opts.uploadId },
      signal: opts.signal,
    });
    return (await res.json()) as PutBlobResult;
  }
  /** How many bytes of a blob an upload session holds (`stored` when the whole blob is on the server). */
  uploadState(uploadId: string, sha256: string): Promise<UploadBlobState> {
    return this.json('GET', `/api/v1/uploads/${seg(uploadId)}/blobs/${blobKey(sha256)}`);
  }
  /** The blob's size, or undefined when the server does not have it. */
  async headBlob(sha256: string): Promise<number | undefined> {
    try {
      const res = await this.raw('HEAD', `/api/v1/blobs/${blobKey(sha256)}`);
      return Number(res.headers.get('content-length'));
    } catch (err) {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }
  /**
   * The blob's bytes as a streaming Response (status 206 when a range was honoured; a server
   * may answer 200 with the whole blob instead, as HTTP allows).
   */
  async getBlob(sha256: string, range?: ByteRange, opts: { signal?: AbortSignal } = {}): Promise<Response> {
    return this.raw('GET', `/api/v1/blobs/${blobKey(sha256)}`, { headers: rangeHeader(range), signal: opts.signal });
  }

  // ---- versions

  /** Commits a version (creating the model on its first version); every blob must be uploaded. */
  createVersion(name: string, input: CreateVersionBody): Promise<Version> {
    return this.json('POST', `/api/v1/models/${seg(name)}/versions`, { body: input });
  }
  /**
   * Like createVersion, also saying how many bytes of the inline `blobs` were new to the
   * server (`berth-stored-bytes`; undefined when the commit carried none).
   */
  async commitVersion(name: string, input: CreateVersionBody): Promise<{ version: Version; storedBytes: number | undefined }> {
    const res = await this.raw('POST', `/api/v1/models/${seg(name)}/versions`, { body: input });
    const stored = res.headers.get('berth-stored-bytes');
    return { version: (await res.json()) as Version, storedBytes: stored === null ? undefined : Number(stored) };
  }
  /** One page of versions, newest first, without their files; with `at` (ISO time), those created at or before then. */
  listVersions(name: string, opts: { cursor?: string; limit?: number; at?: string } = {}): Promise<Page<Version>> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions`, { query: opts });
  }
  iterVersions(name: string, pageSize = 500): AsyncIterable<Version> {
    return this.paginate((cursor) => this.listVersions(name, { limit: pageSize, cursor }));
  }
  /** One version with its files. */
  getVersion(name: string, version: number): Promise<Version> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions/${version}`);
  }
  /** Any reference: name, name:3, name@alias, name@sha256:…, models:/name/3. Includes files. */
  resolve(ref: string): Promise<Version> {
    return this.json('GET', '/api/v1/resolve', { query: { ref } });
  }
  /** The version an alias points at, without files: the serving hot path. */
  resolveAlias(name: string, alias: string): Promise<Version> {
    return this.json('GET', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}`);
  }
  /** Description, tags, metadata (merged key by key; a `null` value removes the key). */
  updateVersion(name: string, version: number, patch: UpdateVersionBody): Promise<Version> {
    return this.json('PATCH', `/api/v1/models/${seg(name)}/versions/${version}`, { body: patch });
  }
  deleteVersion(name: string, version: number, opts: { force?: boolean } = {}): Promise<void> {
    return this.json('DELETE', `/api/v1/models/${seg(name)}/versions/${version}`, { query: { force: opts.force || undefined } });
  }
  /**
   * One file of a version as a streaming Response: `body` is the byte stream, `headers` carry
   * `content-length`, `x-berth-sha256` and, for a range, `content-range` (status 206).
   */
  async openFile(name: string, version: number, path: string, range?: ByteRange, opts: { signal?: AbortSignal } = {}): Promise<Response> {
    const p = validateFilePath(path).split('/').map(seg).join('/');
    return this.raw('GET', `/api/v1/models/${seg(name)}/versions/${version}/files/${p}`, { headers: rangeHeader(range), signal: opts.signal });
  }

  // ---- aliases

  async listAliases(name: string): Promise<Alias[]> {
    return (await this.json<{ items: Alias[] }>('GET', `/api/v1/models/${seg(name)}/aliases`)).items;
  }
  /** Sets or moves an alias; with `expect` it is a compare-and-swap (409 CONFLICT with `details.current`). */
  setAlias(name: string, alias: string, version: number, opts: { expect?: number | null; reason?: string } = {}): Promise<Alias> {
    return this.json('PUT', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}`, {
      body: { version, ...(opts.expect !== undefined ? { expect: opts.expect } : {}), ...(opts.reason ? { reason: opts.reason } : {}) },
    });
  }
  deleteAlias(name: string, alias: string, opts: { expect?: number | null; reason?: string } = {}): Promise<void> {
    return this.json('DELETE', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}`, {
      query: { expect: opts.expect === undefined ? undefined : opts.expect === null ? 'none' : opts.expect, reason: opts.reason },
    });
  }
  /** Moves several aliases in one atomic call: all move or none do. */
  async moveAliases(name: string, moves: AliasMove[], reason?: string): Promise<Alias[]> {
    return (await this.json<{ items: Alias[] }>('POST', `/api/v1/models/${seg(name)}/aliases:batch`, { body: { moves, ...(reason ? { reason } : {}) } })).items;
  }
  freezeAlias(name: string, alias: string, reason?: string): Promise<Alias> {
    return this.json('POST', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}/freeze`, { body: reason ? { reason } : {} });
  }
  unfreezeAlias(name: string, alias: string, reason?: string): Promise<Alias> {
    return this.json('POST', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}/unfreeze`, { body: reason ? { reason } : {} });
  }
  /** One page of an alias's moves, oldest first. */
  aliasHistory(name: string, alias: string, opts: { cursor?: string; limit?: number } = {}): Promise<Page<AliasHistoryEntry>> {
    return this.json('GET', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}/history`, { query: opts });
  }
  iterAliasHistory(name: string, alias: string, pageSize = 1000): AsyncIterable<AliasHistoryEntry> {
    return this.paginate((cursor) => this.aliasHistory(name, alias, { limit: pageSize, cursor }));
  }

  // ---- time travel and audit

  /** Which version `name@alias` pointed to at `t` (ISO 8601). */
  aliasAt(ref: string, t: string): Promise<AliasAt> {
    return this.json('GET', '/api/v1/at', { query: { t, ref } });
  }
  /** The model (description, tags, aliases) as it was at `t`. */
  modelAt(name: string, t: string): Promise<ModelAt> {
    return this.json('GET', `/api/v1/models/${seg(name)}/at`, { query: { t } });
  }
  /** One page of audit events, oldest first. */
  listAudit(
    opts: { model?: string; action?: string; actor?: string; since?: string; until?: string; cursor?: string; limit?: number } = {},
  ): Promise<Page<AuditEvent>> {
    return this.json('GET', '/api/v1/audit', { query: opts });
  }
  iterAudit(opts: { model?: string; since?: string; until?: string; pageSize?: number } = {}): AsyncIterable<AuditEvent> {
    return this.paginate((cursor) => this.listAudit({ model: opts.model, since: opts.since, until: opts.until, limit: opts.pageSize ?? 1000, cursor }));
  }
  /** Re-hashes the audit chain on the server; `ok: false` names the first bad seq. */
  verifyAudit(): Promise<ChainVerdict> {
    return this.json('GET', '/api/v1/audit/verify');
  }

  // ---- events (DESIGN §2 "Events and webhooks")

  /** One page of events after `after` (or a page's `next_cursor`), oldest first. */
  listEvents(opts: EventQuery & { cursor?: string; limit?: number } = {}): Promise<Page<BerthEvent>> {
    return this.json('GET', '/api/v1/events', {
      query: { after: opts.after, cursor: opts.cursor, types: opts.types?.join(','), model: opts.model, limit: opts.limit },
    });
  }
  /**
   * The events after `after`, then live ones as they happen, until `signal` aborts (or the
   * loop breaks). Reconnects after a dropped connection where it left off; `onReconnect` is
   * told why.
   */
  events(opts: EventQuery & { signal?: AbortSignal; onReconnect?: (err: unknown) => void } = {}): AsyncIterable<BerthEvent> {
    return followEvents(this, opts);
  }

  // ---- runs

  createRun(input: CreateRunBody = {}): Promise<Run> {
    return this.json('POST', '/api/v1/runs', { body: input });
  }
  getRun(id: string): Promise<Run> {
    return this.json('GET', `/api/v1/runs/${seg(id)}`);
  }
  logRun(id: string, input: LogRunBody): Promise<Run> {
    return this.json('POST', `/api/v1/runs/${seg(id)}/log`, { body: input });
  }

  // ---- maintenance

  /** Removes unreferenced blobs older than the grace period (admin). */
  gc(opts: { dry_run?: boolean; grace_seconds?: number } = {}): Promise<GcResult> {
    return this.json('POST', '/api/v1/gc', { body: opts });
  }

  // ---- webhooks (admin)

  /** Registers a webhook; the answer is the only one that carries its secret. */
  createWebhook(input: CreateWebhookBody): Promise<Webhook> {
    return this.json('POST', '/api/v1/webhooks', { body: input });
  }
  listWebhooks(opts: { cursor?: string; limit?: number } = {}): Promise<Page<Webhook>> {
    return this.json('GET', '/api/v1/webhooks', { query: opts });
  }
  iterWebhooks(pageSize = 1000): AsyncIterable<Webhook> {
    return this.paginate((cursor) => this.listWebhooks({ limit: pageSize, cursor }));
  }
  getWebhook(id: string): Promise<Webhook> {
    return this.json('GET', `/api/v1/webhooks/${seg(id)}`);
  }
  updateWebhook(id: string, patch: UpdateWebhookBody): Promise<Webhook> {
    return this.json('PATCH', `/api/v1/webhooks/${seg(id)}`, { body: patch });
  }
  deleteWebhook(id: string): Promise<void> {
    return this.json('DELETE', `/api/v1/webhooks/${seg(id)}`);
  }
  /** Sends a made-up `webhook.test` event now and reports what the receiver answered. */
  testWebhook(id: string): Promise<WebhookTestResult> {
    return this.json('POST', `/api/v1/webhooks/${seg(id)}/test`, { body: {} });
  }
  /** One page of a webhook's delivery log, newest first. */
  listDeliveries(id: string, opts: { state?: 'pending' | 'delivered' | 'failed'; cursor?: string; limit?: number } = {}): Promise<Page<Delivery>> {
    return this.json('GET', `/api/v1/webhooks/${seg(id)}/deliveries`, { query: opts });
  }
  /** A delivery with each of its attempts. */
  getDelivery(id: string): Promise<DeliveryDetail> {
    return this.json('GET', `/api/v1/deliveries/${seg(id)}`);
  }
  /** Sends a delivery's event again: a new delivery with the same `webhook-id`. */
  replayDelivery(id: string): Promise<Delivery> {
    return this.json('POST', `/api/v1/deliveries/${seg(id)}/replay`, { body: {} });
  }

  // ---- tokens

  /** Creates a token (admin); the answer's `token` is the only time its secret is shown. */
  createToken(input: CreateTokenBody): Promise<CreatedToken> {
    return this.json('POST', '/api/v1/tokens', { body: input });
  }
  /** Every token, revoked ones too, without secrets (admin). */
  async listTokens(): Promise<Token[]> {
    return (await this.json<{ items: Token[] }>('GET', '/api/v1/tokens')).items;
  }
  /** Revokes a token (admin); it stays listed, revoked. */
  revokeToken(name: string, reason?: string): Promise<Token> {
    return this.json('DELETE', `/api/v1/tokens/${seg(name)}`, { query: { reason } });
  }
  /** Who the server takes this client for: the token's name, roles and models, or the local user. */
  whoami(): Promise<WhoAmI> {
    return this.json('GET', '/api/v1/whoami');
  }

  // ---- evaluations, policies, gates, promotions

  /** Records measured metrics for a version, with their source and dataset. */
  recordEvaluation(name: string, version: number, input: RecordEvaluationBody): Promise<Evaluation> {
    return this.json('POST', `/api/v1/models/${seg(name)}/versions/${version}/evaluations`, { body: input });
  }
  /** One page of a version's evaluations, newest first. */
  listEvaluations(name: string, version: number, opts: { cursor?: string; limit?: number } = {}): Promise<Page<Evaluation>> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions/${version}/evaluations`, { query: opts });
  }
  iterEvaluations(name: string, version: number, pageSize = 1000): AsyncIterable<Evaluation> {
    return this.paginate((cursor) => this.listEvaluations(name, version, { limit: pageSize, cursor }));
  }
  /** Stores a policy's YAML as its next version (admin); `unchanged` when it equals the latest. */
  applyPolicy(name: string, yaml: string): Promise<Policy> {
    return this.json('PUT', `/api/v1/policies/${seg(name)}`, { body: { yaml } });
  }
  /** One page of policies, the latest version of each. */
  listPolicies(opts: { cursor?: string; limit?: number } = {}): Promise<Page<Policy>> {
    return this.json('GET', '/api/v1/policies', { query: opts });
  }
  iterPolicies(pageSize = 1000): AsyncIterable<Policy> {
    return this.paginate((cursor) => this.listPolicies({ limit: pageSize, cursor }));
  }
  /** A policy's latest version, or version `opts.version`. */
  getPolicy(name: string, opts: { version?: number } = {}): Promise<Policy> {
    return this.json('GET', `/api/v1/policies/${seg(name)}`, { query: opts });
  }
  /** What the gates of a policy read for a version: the same input the server's promote evaluates. */
  /** What the gates of a policy not yet applied (its YAML) read for a version, as the server assembles it; stores nothing. */
  draftGateEvidence(name: string, version: number, yaml: string): Promise<DraftGateEvidence> {
    return this.json('POST', `/api/v1/models/${seg(name)}/versions/${version}/gate-evidence`, { body: { yaml } });
  }
  gateEvidence(name: string, version: number, of: { policy: string; policyVersion?: number }): Promise<{ policy: Policy; evidence: GateEvidence }> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions/${version}/gate-evidence`, {
      query: { policy: of.policy, policy_version: of.policyVersion },
    });
  }
  /**
   * Asks to move an alias to a version under a policy. Resolves with the promotion when it passed
   * or awaits approvals (`state: "pending"`); failed gates reject with FAILED_PRECONDITION whose
   * `details.report` is the gate report, a lost compare-and-swap with CONFLICT.
   */
  promote(name: string, input: RequestPromotionBody): Promise<Promotion> {
    return this.json('POST', `/api/v1/models/${seg(name)}/promotions`, { body: input });
  }
  /** One page of a model's promotions, newest first. */
  listPromotions(name: string, opts: { alias?: string; state?: string; cursor?: string; limit?: number } = {}): Promise<Page<Promotion>> {
    return this.json('GET', `/api/v1/models/${seg(name)}/promotions`, { query: opts });
  }
  iterPromotions(name: string, opts: { alias?: string; state?: string; pageSize?: number } = {}): AsyncIterable<Promotion> {
    return this.paginate((cursor) => this.listPromotions(name, { alias: opts.alias, state: opts.state, limit: opts.pageSize ?? 1000, cursor }));
  }
  getPromotion(id: string): Promise<Promotion> {
    return this.json('GET', `/api/v1/promotions/${seg(id)}`);
  }
  /** Approves a pending promotion (approver); the Nth approval moves the alias. */
  approvePromotion(id: string, reason?: string): Promise<Promotion> {
    return this.json('POST', `/api/v1/promotions/${seg(id)}/approve`, { body: reason ? { reason } : {} });
  }
  rejectPromotion(id: string, reason?: string): Promise<Promotion> {
    return this.json('POST', `/api/v1/promotions/${seg(id)}/reject`, { body: reason ? { reason } : {} });
  }
  /** Moves an alias back to the version it held before its current holder (approver); a reason is required. */
  rollback(name: string, alias: string, reason: string, opts: { expect?: number } = {}): Promise<Promotion> {
    return this.json('POST', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}/rollback`, {
      body: { reason, ...(opts.expect !== undefined ? { expect: opts.expect } : {}) },
    });
  }

  // ---- bundles and lineage (docs/decisions/0017)

  /** A new bundle version: components pinned as name:N or name@sha256:…; `from` starts from a bundle and replaces what is given. */
  createBundle(name: string, input: CreateBundleBody): Promise<Version> {
    return this.json('POST', `/api/v1/models/${seg(name)}/bundles`, { body: input });
  }
  /** What a version pins (`uses`), or one page of what pins it (`used-by`). */
  lineage(name: string, version: number, direction: LineageDirection, opts: { cursor?: string; limit?: number } = {}): Promise<Page<LineageEntry>> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions/${version}/lineage`, { query: { direction, ...opts } });
  }

  // ---- prompts (docs/decisions/0018)

  /**
   * A new version of prompt model `name` (created with kind `prompt` when new) from the
   * template's text and, optionally, few-shot examples (a JSON list, or its text as written)
   * and model parameters. The server checks it: an example naming a variable the template does
   * not declare is refused.
   */
  async pushPrompt(name: string, input: PromptInput): Promise<Version> {
    const texts: [string, string][] = [[input.format === 'chat' ? PROMPT_FILES.chat : PROMPT_FILES.text, input.template]];
    if (input.examples !== undefined)
      texts.push([PROMPT_FILES.examples, typeof input.examples === 'string' ? input.examples : `${JSON.stringify(input.examples, null, 2)}\n`]);
    if (input.params !== undefined && Object.keys(input.params).length > 0) texts.push([PROMPT_FILES.params, `${JSON.stringify(input.params, null, 2)}\n`]);
    const files = texts.map(([path, text]) => {
      const bytes = new TextEncoder().encode(text);
      return { path, bytes, sha256: sha256Hex(bytes) };
    });
    // Prompt files are small: they travel inside the commit, except one over the inline limit.
    for (const f of files) if (f.bytes.length > INLINE_BLOB_MAX_BYTES) await this.putBlob(f.sha256, f.bytes, f.bytes.length);
    const inline = files.filter((f) => f.bytes.length <= INLINE_BLOB_MAX_BYTES);
    const { version } = await this.commitVersion(name, {
      kind: 'prompt',
      files: files.map((f) => ({ path: f.path, size: f.bytes.length, sha256: f.sha256 })).sort((a, b) => (a.path < b.path ? -1 : 1)),
      ...(inline.length ? { blobs: inline.map((f) => ({ sha256: f.sha256, base64: base64Of(f.bytes) })) } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.tags ? { tags: input.tags } : {}),
    });
    return version;
  }
  /**
   * Renders a prompt version on the server (`name:3`, `name@production`, `name@sha256:…`, or
   * `name` for the latest). Every variable the template declares must be given, and no other.
   */
  renderPrompt(ref: string, variables: Readonly<Record<string, string>> = {}): Promise<RenderedPrompt> {
    const { name, selector } = parseReference(ref);
    const at =
      selector.kind === 'version'
        ? String(selector.version)
        : selector.kind === 'alias'
          ? selector.alias
          : selector.kind === 'digest'
            ? selector.digest
            : 'latest';
    return this.json('POST', `/api/v1/models/${seg(name)}/versions/${seg(at)}/render`, { body: { variables } });
  }

  // ---- model cards (docs/decisions/0018)

  /** A version's model card (`ref`: a version number, an alias or a digest): edited, else its README.md, else generated. */
  getCard(name: string, ref: string | number): Promise<Card> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions/${seg(String(ref))}/card`);
  }
  /** Replaces a version's card with `text` (Markdown with YAML front matter); its files stay as they are (editor). */
  setCard(name: string, ref: string | number, text: string): Promise<Card> {
    return this.json('PUT', `/api/v1/models/${seg(name)}/versions/${seg(String(ref))}/card`, { body: { text } });
  }

  // ---- deployments and the gateway (docs/decisions/0023)

  /** Stores a deployment's YAML as its next version, named by its `deployment:` key (approver on its model). */
  applyDeployment(yaml: string): Promise<Deployment> {
    return this.json('POST', '/api/v1/deployments', { body: { yaml } });
  }
  listDeployments(opts: { cursor?: string; limit?: number } = {}): Promise<Page<Deployment>> {
    return this.json('GET', '/api/v1/deployments', { query: opts });
  }
  iterDeployments(pageSize = 1000): AsyncIterable<Deployment> {
    return this.paginate((cursor) => this.listDeployments({ cursor, limit: pageSize }));
  }
  /** A deployment's latest version, or the version asked for. */
  getDeployment(name: string, opts: { version?: number } = {}): Promise<Deployment> {
    return this.json('GET', `/api/v1/deployments/${seg(name)}`, { query: opts });
  }
  /** Removes a deployment (approver on its model); gateways stop serving it. */
  async deleteDeployment(name: string, reason?: string): Promise<void> {
    await this.raw('DELETE', `/api/v1/deployments/${seg(name)}`, { query: reason ? { reason } : {} });
  }
  /** Everything a gateway routes a deployment by, read at one event sequence number. */
  deploymentRouting(name: string): Promise<RoutingSnapshot> {
    return this.json('GET', `/api/v1/deployments/${seg(name)}/routing`);
  }
  /** A gateway's rollout decision; 409 CONFLICT when another gateway decided that step first. */
  decideRollout(name: string, body: RolloutDecisionBody): Promise<Rollout> {
    return this.json('POST', `/api/v1/deployments/${seg(name)}/rollout`, { body });
  }
  /** What a gateway served over a window. */
  reportServed(name: string, body: ServedReportBody, opts: { signal?: AbortSignal } = {}): Promise<ServedReport> {
    return this.json('POST', `/api/v1/deployments/${seg(name)}/served`, { body, signal: opts.signal });
  }
  /** What the gateways actually served at `t` (ISO time). */
  servedAt(name: string, t: string): Promise<ServedAt> {
    return this.json('GET', `/api/v1/deployments/${seg(name)}/served`, { query: { at: t } });
  }
  /** The deployment, its aliases, its rollout and the latest report of each gateway heard from lately. */
  deploymentStatus(name: string): Promise<DeploymentStatus> {
    return this.json('GET', `/api/v1/deployments/${seg(name)}/status`);
  }

  // ---- the web UI's versions table

  /** The newest value of each evaluated metric of these versions (at most 100), in one request; with `at`, as recorded by then. */
  async latestMetrics(name: string, versions: readonly number[], opts: { at?: string; signal?: AbortSignal } = {}): Promise<LatestMetrics[]> {
    const query = { versions: versions.join(','), at: opts.at };
    return (await this.json<{ items: LatestMetrics[] }>('GET', `/api/v1/models/${seg(name)}/latest-metrics`, { query, signal: opts.signal })).items;
  }

  /** One page of the promotions of every model, newest first; `state: 'pending'` lists what awaits approvers. */
  listAllPromotions(opts: { alias?: string; state?: string; cursor?: string; limit?: number } = {}): Promise<Page<Promotion>> {
    return this.json('GET', '/api/v1/promotions', { query: opts });
  }

  /** The rollout of a deployment as it stood at `t` (ISO time), or null when there was none. */
  rolloutAt(name: string, t: string): Promise<RolloutAt> {
    return this.json('GET', `/api/v1/deployments/${seg(name)}/rollout`, { query: { at: t } });
  }

  /** The served reports whose window ended in [since, until] (ISO times, either open), newest first. */
  listDeploymentReports(name: string, opts: { since?: string; until?: string; cursor?: string; limit?: number } = {}): Promise<Page<ServedReport>> {
    return this.json('GET', `/api/v1/deployments/${seg(name)}/reports`, { query: opts });
  }

  // ---- the catalog (docs/api.md "Search")

  /**
   * One page of models or versions matching `q` (`name:chat* tag:env=prod OR alias:champion`,
   * docs/api.md): models by name, or versions newest first with their aliases.
   */
  search(opts: { q?: string; kind?: 'models' | 'versions'; cursor?: string; limit?: number } = {}): Promise<SearchPage> {
    return this.json('GET', '/api/v1/search', { query: opts });
  }
  /** The models that existed at `t` (ISO time), with their aliases then. */
  catalogAt(t: string, opts: { cursor?: string; limit?: number } = {}): Promise<CatalogAtPage> {
    return this.json('GET', '/api/v1/catalog', { query: { at: t, ...opts } });
  }
}

/** What `pushPrompt` registers. `format: 'chat'` makes `template` a JSON list of `{role, content}` messages (prompt.json). */
export interface PromptInput {
  template: string;
  format?: 'text' | 'chat';
  examples?: string | readonly unknown[];
  params?: Readonly<Record<string, unknown>>;
  description?: string;
  tags?: Record<string, string>;
}

/** Base64 without Buffer, so the client runs in browsers too; chunked to stay clear of argument-count limits. */
function base64Of(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function blobKey(sha256: string): string {
  if (!isSha256Hex(sha256))
    throw new BerthError('INVALID_ARGUMENT', `invalid blob key ${JSON.stringify(sha256)}: a sha256 is 64 lowercase hex digits`, { field: 'sha256' });
  return sha256;
}

function rangeHeader(range: ByteRange | undefined): Record<string, string> {
  if (!range) return {};
  const ok =
    Number.isSafeInteger(range.start) && range.start >= 0 && (range.end === undefined || (Number.isSafeInteger(range.end) && range.end >= range.start));
  if (!ok) throw new BerthError('INVALID_ARGUMENT', `invalid byte range ${JSON.stringify(range)}: start >= 0, end >= start`, { field: 'range' });
  return { range: `bytes=${range.start}-${range.end ?? ''}` };
}

/** An async iterable as a web stream, read only as fast as the consumer pulls. */
function streamOf(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  let it: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        it ??= chunks[Symbol.asyncIterator]();
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel(reason) {
        await it?.return?.(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** What a status means when the answer lacks Berth's error shape (a proxy, another server). */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  412: 'FAILED_PRECONDITION',
  413: 'PAYLOAD_TOO_LARGE',
  416: 'INVALID_ARGUMENT',
  422: 'FAILED_PRECONDITION',
};

/** Foreign errors become BerthError here, once (CONVENTIONS "Errors"). */
export async function errorFrom(res: Response, url?: string): Promise<BerthError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (e && isErrorCode(e.code) && typeof e.message === 'string') {
    const details = e.details && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
    return new BerthError(e.code, e.message, details);
  }
  const code = CODE_BY_STATUS[res.status] ?? 'INTERNAL';
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  const who = url ? `the server at ${url}` : 'the server';
  return new BerthError(
    code,
    `${who} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${snippet ? `: ${snippet}` : ''} (not a Berth error: is --url, or BERTH_URL, pointing at a Berth server?)`,
    {
      status: res.status,
    },
  );
}

/** Every answer of a Berth server carries it; an answer without it comes from something else. */
export const BERTH_API_HEADER = 'berth-api';

/**
 * An answer from a server that is not Berth (another service on that port, a proxy's own page):
 * say so, rather than report its 404 as "not found" or its JSON as a Berth answer.
 */
async function notBerth(res: Response, url: string): Promise<BerthError> {
  await res.body?.cancel().catch(() => {});
  return new BerthError('INVALID_ARGUMENT', `${url}: this is not a Berth server (no ${BERTH_API_HEADER} header); check --url / BERTH_URL`, {
    field: 'url',
    url,
    status: res.status,
  });
}

/** A network failure: say which server could not be reached and how to fix it. */
export function unreachable(url: string, err: unknown): BerthError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const own = err as { code?: string; message?: string } | undefined;
  const why = cause?.code ?? own?.code ?? cause?.message ?? own?.message ?? String(err);
  return new BerthError('INTERNAL', `cannot reach Berth at ${url} (${why}): start it with \`berth server\`, or point --url / BERTH_URL at it`, {
    url,
    cause: why,
  });
}

export { BerthError };
