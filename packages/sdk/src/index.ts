import {
  BerthError,
  isErrorCode,
  type Alias,
  type AliasHistoryEntry,
  type AuditEvent,
  type ChainVerdict,
  type ManifestFile,
  type Model,
  type Page,
  type Run,
  type Version,
  type CreateVersionRequest,
  type OpenUploadResult,
  type AliasAt,
  type ModelAt,
  type GcResult,
} from '@berth/core';

export type { CreateVersionRequest, OpenUploadResult, AliasAt, ModelAt, GcResult };
/** The body of a version commit; kept under its earlier name for callers. */
export type CreateVersionInput = CreateVersionRequest;

export const DEFAULT_URL = 'http://127.0.0.1:7878';

export interface ClientOptions {
  /** Server URL; default http://127.0.0.1:7878. */
  url?: string;
  /** Who is asking, recorded in the audit trail (sent as x-berth-actor). */
  actor?: string;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface AliasMove {
  alias: string;
  version: number | null;
  expect?: number | null;
}

const seg = encodeURIComponent;

/**
 * The typed client of Berth's native API, over `fetch`. Every failure surfaces as a
 * `BerthError` with the server's code, so callers (the CLI) switch on codes, not on statuses.
 */
export class BerthClient {
  readonly url: string;
  private readonly actor?: string;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions = {}) {
    this.url = (opts.url ?? DEFAULT_URL).replace(/\/+$/, '');
    this.actor = opts.actor;
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Headers every request carries. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.actor ? { 'x-berth-actor': this.actor } : {}), ...extra };
  }

  endpoint(path: string, query?: Query): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) qs.set(k, String(v));
    const s = qs.toString();
    return `${this.url}${path}${s ? `?${s}` : ''}`;
  }

  /** Sends a request and returns the raw response; non-2xx answers become BerthError. */
  async raw(method: string, path: string, opts: RequestOptions & { rawBody?: BodyInit; duplex?: boolean } = {}): Promise<Response> {
    const headers = this.headers(opts.headers);
    let body: BodyInit | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.endpoint(path, opts.query), { method, headers, body, ...(opts.duplex ? { duplex: 'half' } : {}) } as RequestInit);
    } catch (err) {
      throw unreachable(this.url, err);
    }
    if (!res.ok && res.status !== 304) throw await errorFrom(res);
    return res;
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  health(): Promise<{ status: string }> {
    return this.json('GET', '/healthz');
  }

  // models
  createModel(input: { name: string; kind?: string; description?: string; tags?: Record<string, string>; protected_aliases?: string[] }): Promise<Model> {
    return this.json('POST', '/api/v1/models', { body: input });
  }
  listModels(opts: { cursor?: string; limit?: number; kind?: string; prefix?: string } = {}): Promise<Page<Model>> {
    return this.json('GET', '/api/v1/models', { query: opts });
  }
  async *iterModels(opts: { kind?: string; prefix?: string; pageSize?: number } = {}): AsyncIterable<Model> {
    let cursor: string | undefined;
    do {
      const page = await this.listModels({ kind: opts.kind, prefix: opts.prefix, limit: opts.pageSize ?? 500, cursor });
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }
  getModel(name: string): Promise<Model> {
    return this.json('GET', `/api/v1/models/${seg(name)}`);
  }
  updateModel(name: string, patch: { description?: string; tags?: Record<string, string>; untag?: string[]; new_name?: string; protected_aliases?: string[] }): Promise<Model> {
    return this.json('PATCH', `/api/v1/models/${seg(name)}`, { body: patch });
  }
  deleteModel(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.json('DELETE', `/api/v1/models/${seg(name)}`, { query: { force: opts.force || undefined } });
  }

  // uploads and blobs
  openUpload(files: ManifestFile[]): Promise<OpenUploadResult> {
    return this.json('POST', '/api/v1/uploads', { body: { files } });
  }
  async putBlob(sha256: string, body: BodyInit, size?: number): Promise<{ sha256: string; size: number; created: boolean }> {
    const res = await this.raw('PUT', `/api/v1/blobs/${sha256}`, {
      rawBody: body,
      duplex: typeof ReadableStream !== 'undefined' && body instanceof ReadableStream,
      headers: { 'content-type': 'application/octet-stream', ...(size !== undefined ? { 'content-length': String(size) } : {}) },
    });
    return (await res.json()) as { sha256: string; size: number; created: boolean };
  }
  async headBlob(sha256: string): Promise<number | undefined> {
    try {
      const res = await this.raw('HEAD', `/api/v1/blobs/${sha256}`);
      return Number(res.headers.get('content-length'));
    } catch (err) {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }
  getBlob(sha256: string, range?: { start: number; end?: number }): Promise<Response> {
    return this.raw('GET', `/api/v1/blobs/${sha256}`, { headers: range ? { range: `bytes=${range.start}-${range.end ?? ''}` } : {} });
  }

  // versions
  createVersion(name: string, input: CreateVersionInput): Promise<Version> {
    return this.json('POST', `/api/v1/models/${seg(name)}/versions`, { body: input });
  }
  listVersions(name: string, opts: { cursor?: string; limit?: number } = {}): Promise<Page<Version>> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions`, { query: opts });
  }
  async *iterVersions(name: string, pageSize = 500): AsyncIterable<Version> {
    let cursor: string | undefined;
    do {
      const page = await this.listVersions(name, { limit: pageSize, cursor });
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }
  getVersion(name: string, version: number): Promise<Version> {
    return this.json('GET', `/api/v1/models/${seg(name)}/versions/${version}`);
  }
  /** Any reference: name, name:3, name@alias, name@sha256:…, models:/name/3. Includes files. */
  resolve(ref: string): Promise<Version> {
    return this.json('GET', '/api/v1/resolve', { query: { ref } });
  }
  resolveAlias(name: string, alias: string): Promise<Version> {
    return this.json('GET', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}`);
  }
  updateVersion(name: string, version: number, patch: { description?: string; metadata?: Record<string, unknown>; tags?: Record<string, string>; untag?: string[] }): Promise<Version> {
    return this.json('PATCH', `/api/v1/models/${seg(name)}/versions/${version}`, { body: patch });
  }
  deleteVersion(name: string, version: number, opts: { force?: boolean } = {}): Promise<void> {
    return this.json('DELETE', `/api/v1/models/${seg(name)}/versions/${version}`, { query: { force: opts.force || undefined } });
  }
  openFile(name: string, version: number, path: string, range?: { start: number; end?: number }): Promise<Response> {
    const p = path.split('/').map(seg).join('/');
    return this.raw('GET', `/api/v1/models/${seg(name)}/versions/${version}/files/${p}`, { headers: range ? { range: `bytes=${range.start}-${range.end ?? ''}` } : {} });
  }

  // aliases
  async listAliases(name: string): Promise<Alias[]> {
    return (await this.json<{ items: Alias[] }>('GET', `/api/v1/models/${seg(name)}/aliases`)).items;
  }
  setAlias(name: string, alias: string, version: number, opts: { expect?: number | null; reason?: string } = {}): Promise<Alias> {
    return this.json('PUT', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}`, { body: { version, ...(opts.expect !== undefined ? { expect: opts.expect } : {}), ...(opts.reason ? { reason: opts.reason } : {}) } });
  }
  deleteAlias(name: string, alias: string, opts: { expect?: number | null; reason?: string } = {}): Promise<void> {
    return this.json('DELETE', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}`, {
      query: { expect: opts.expect === undefined ? undefined : opts.expect === null ? 'none' : opts.expect, reason: opts.reason },
    });
  }
  async moveAliases(name: string, moves: AliasMove[], reason?: string): Promise<Alias[]> {
    return (await this.json<{ items: Alias[] }>('POST', `/api/v1/models/${seg(name)}/aliases:batch`, { body: { moves, ...(reason ? { reason } : {}) } })).items;
  }
  freezeAlias(name: string, alias: string, reason?: string): Promise<Alias> {
    return this.json('POST', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}/freeze`, { body: reason ? { reason } : {} });
  }
  unfreezeAlias(name: string, alias: string, reason?: string): Promise<Alias> {
    return this.json('POST', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}/unfreeze`, { body: reason ? { reason } : {} });
  }
  aliasHistory(name: string, alias: string, opts: { cursor?: string; limit?: number } = {}): Promise<Page<AliasHistoryEntry>> {
    return this.json('GET', `/api/v1/models/${seg(name)}/aliases/${seg(alias)}/history`, { query: opts });
  }

  // time travel and audit
  aliasAt(ref: string, t: string): Promise<AliasAt> {
    return this.json('GET', '/api/v1/at', { query: { t, ref } });
  }
  modelAt(name: string, t: string): Promise<ModelAt> {
    return this.json('GET', `/api/v1/models/${seg(name)}/at`, { query: { t } });
  }
  listAudit(opts: { model?: string; since?: string; until?: string; cursor?: string; limit?: number } = {}): Promise<Page<AuditEvent>> {
    return this.json('GET', '/api/v1/audit', { query: opts });
  }
  verifyAudit(): Promise<ChainVerdict> {
    return this.json('GET', '/api/v1/audit/verify');
  }

  // runs
  createRun(input: { experiment?: string; name?: string; params?: Record<string, string>; tags?: Record<string, string>; run_id?: string } = {}): Promise<Run> {
    return this.json('POST', '/api/v1/runs', { body: input });
  }
  getRun(id: string): Promise<Run> {
    return this.json('GET', `/api/v1/runs/${seg(id)}`);
  }
  logRun(id: string, input: { params?: Record<string, string>; metrics?: { key: string; value: number; step?: number; timestamp?: number }[]; tags?: Record<string, string>; datasets?: { name: string; digest: string; source?: string | null }[]; status?: string }): Promise<Run> {
    return this.json('POST', `/api/v1/runs/${seg(id)}/log`, { body: input });
  }

  gc(opts: { dry_run?: boolean; grace_seconds?: number } = {}): Promise<GcResult> {
    return this.json('POST', '/api/v1/gc', { body: opts });
  }
}

/** Foreign errors become BerthError here, once (CONVENTIONS "Errors"). */
export async function errorFrom(res: Response): Promise<BerthError> {
  let body: unknown;
  const text = await res.text().catch(() => '');
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (e && isErrorCode(e.code) && typeof e.message === 'string') {
    return new BerthError(e.code, e.message, (e.details as Record<string, unknown>) ?? {});
  }
  const code = res.status === 404 ? 'NOT_FOUND' : res.status === 409 ? 'CONFLICT' : res.status >= 400 && res.status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL';
  return new BerthError(code, `server answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`, { status: res.status });
}

export function unreachable(url: string, err: unknown): BerthError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return new BerthError('INTERNAL', `cannot reach Berth at ${url} (${why}): start it with \`berth server\`, or point --url / BERTH_URL at it`, { url });
}

export { BerthError };
