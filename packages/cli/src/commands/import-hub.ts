import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, invalid, isCommitId, isToolState, validateFilePath, type Version } from '@berth/core';
import type { BerthClient } from '@berth/sdk';
import { nodeBody, nodeFetch, pushDirectory } from '@berth/sdk/node';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { bytes } from '../output/format.js';
import { ProgressBar } from '../output/progress.js';

const USAGE = `usage: berth import hub REPO --from URL [--revision REV] [--as NAME] [--upstream-token T]
                        [--concurrency 4] [--dry-run] [--json]
Mirrors one Hugging Face Hub repo (namespace/name) from any Hub endpoint as one new version.
REV (a branch, tag or commit; default main) is resolved once to its 40-hex commit, and every
file is downloaded at that commit and verified (LFS files by sha256, others by git blob id)
before anything is pushed. The version records metadata.upstream = hf:REPO@<commit> and where
it came from (metadata.origin); importing the same commit again changes nothing.
--as names the Berth model (default REPO); --upstream-token is sent to the Hub endpoint only.
--dry-run resolves and lists the files without downloading or pushing.`;

const REPO_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$/;

/** A file of the upstream tree at the commit, as the Hub's tree API lists it. */
interface HubFile {
  path: string;
  size: number;
  /** git blob id: of the bytes for a regular file, of the LFS pointer for an LFS file. */
  oid: string;
  lfs?: { oid: string; size: number };
}

/** What is read from one Hub endpoint, for one repo: the reads `snapshot_download` makes, with the same error codes. */
class HubSource {
  constructor(
    readonly endpoint: string,
    readonly repo: string,
    private readonly token: string | undefined,
  ) {}

  private async get(url: string, what: string, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await nodeFetch(url, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string }; code?: string; message?: string }) ?? {};
      const why = cause.cause?.code ?? cause.code ?? cause.message ?? String(err);
      throw new BerthError('INTERNAL', `cannot reach the Hub endpoint ${this.endpoint} (${why}): check --from`, { url: this.endpoint, cause: why });
    }
    if (res.ok) return res;
    const code = res.headers.get('x-error-code');
    const message = res.headers.get('x-error-message') ?? '';
    await res.body?.cancel().catch(() => {});
    const details = { url, status: res.status, ...(code ? { upstream_code: code } : {}) };
    if (code === 'RepoNotFound')
      throw new BerthError(
        'NOT_FOUND',
        `repo ${this.repo} not found at ${this.endpoint}${this.token ? '' : ' (a private repo needs --upstream-token)'}`,
        details,
      );
    if (code === 'RevisionNotFound' || code === 'EntryNotFound' || res.status === 404)
      throw new BerthError(
        'NOT_FOUND',
        `${what} not found in ${this.repo} at ${this.endpoint}${code ? '' : ' (404 without X-Error-Code: is it a Hub endpoint?)'}`,
        details,
      );
    if (res.status === 401)
      throw new BerthError('UNAUTHENTICATED', `${this.endpoint} refused ${what} (401): give a token it accepts with --upstream-token`, details);
    if (res.status === 403)
      throw new BerthError('PERMISSION_DENIED', `${this.endpoint} refused ${what} (403): the --upstream-token may not read ${this.repo}`, details);
    throw new BerthError('INTERNAL', `${this.endpoint} answered ${res.status} for ${what}${message ? `: ${message}` : ''}`, details);
  }

  private async json(url: string, what: string): Promise<{ body: unknown; res: Response }> {
    const res = await this.get(url, what);
    try {
      return { body: await res.json(), res };
    } catch {
      throw new BerthError('INTERNAL', `${this.endpoint} did not answer ${what} with JSON: is it a Hub endpoint?`, { url });
    }
  }

  private api(path: string): string {
    return `${this.endpoint}/api/models/${this.repo}${path}`;
  }

  /** The 40-hex commit a revision names now (once: everything after reads at the commit). */
  async resolve(revision: string): Promise<string> {
    const what = `revision ${JSON.stringify(revision)}`;
    const { body } = await this.json(this.api(`/revision/${encodeURIComponent(revision)}`), what);
    const sha = (body as { sha?: unknown })?.sha;
    if (typeof sha !== 'string' || !isCommitId(sha))
      throw new BerthError('INTERNAL', `${this.endpoint} answered ${what} without a 40-hex commit (sha: ${JSON.stringify(sha)}): is it a Hub endpoint?`, {
        url: this.endpoint,
      });
    return sha;
  }

  /** Every file at the commit, following `Link: <…>; rel="next"` pages. */
  async files(commit: string): Promise<HubFile[]> {
    const out: HubFile[] = [];
    let url: string | undefined = this.api(`/tree/${commit}?recursive=true`);
    while (url) {
      const { body, res } = await this.json(url, `the file list at ${commit}`);
      if (!Array.isArray(body)) throw new BerthError('INTERNAL', `${this.endpoint} did not answer the file list with an array: is it a Hub endpoint?`, { url });
      for (const e of body as Record<string, unknown>[]) if (e?.type === 'file') out.push(hubFile(e));
      url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    }
    return out;
  }

  download(commit: string, path: string, signal: AbortSignal): Promise<Response> {
    return this.get(`${this.endpoint}/${this.repo}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`, `file ${path}`, signal);
  }
}

function hubFile(e: Record<string, unknown>): HubFile {
  const path = validateFilePath(e.path);
  // a push leaves these out of a version: the mirror would silently lack the file
  if (path.split('/').some(isToolState))
    throw invalid(`the upstream tree lists ${JSON.stringify(path)}, a version control or berth file a version cannot hold`, { path });
  const lfs = e.lfs as Record<string, unknown> | undefined;
  const hex = (v: unknown, n: number) => typeof v === 'string' && v.length === n && /^[0-9a-f]+$/.test(v);
  const size = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!size(e.size) || !hex(e.oid, 40) || (lfs !== undefined && (!hex(lfs.oid, 64) || !size(lfs.size))))
    throw invalid(`the upstream tree lists ${JSON.stringify(path)} without a valid size, git oid or LFS sha256`, { path });
  return { path, size: e.size as number, oid: e.oid as string, ...(lfs ? { lfs: { oid: lfs.oid as string, size: lfs.size as number } } : {}) };
}

/** Streams one file to `abs`, hashing as it goes, and refuses it unless its bytes are the ones the tree names. */
async function fetchVerified(hub: HubSource, commit: string, f: HubFile, abs: string, signal: AbortSignal, onBytes: (n: number) => void): Promise<void> {
  const expected = f.lfs?.size ?? f.size;
  const res = await hub.download(commit, f.path, signal);
  const sha256 = createHash('sha256');
  let blob: Hash | undefined;
  if (!f.lfs) blob = createHash('sha1').update(`blob ${expected}\0`);
  let got = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      got += chunk.length;
      sha256.update(chunk);
      blob?.update(chunk);
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
  await mkdir(dirname(abs), { recursive: true });
  await pipeline(nodeBody(res), hashing, createWriteStream(abs), { signal });
  const refuse = (why: string, details: Record<string, unknown>) =>
    new BerthError('FAILED_PRECONDITION', `${f.path} from ${hub.endpoint} failed verification (${why}): nothing was imported`, { path: f.path, ...details });
  if (got !== expected) throw refuse(`${got} bytes, the tree says ${expected}`, { expected, actual: got });
  if (f.lfs) {
    const actual = sha256.digest('hex');
    if (actual !== f.lfs.oid) throw refuse(`sha256 ${actual}, the LFS oid is ${f.lfs.oid}`, { expected: f.lfs.oid, actual });
  } else {
    const actual = (blob as Hash).digest('hex');
    if (actual !== f.oid) throw refuse(`git blob id ${actual}, the tree says ${f.oid}`, { expected: f.oid, actual });
  }
}

/** The version of `model` that already holds this upstream commit, if any. */
async function imported(client: BerthClient, model: string, upstream: string): Promise<Version | undefined> {
  try {
    for await (const v of client.iterVersions(model)) if (v.metadata.upstream === upstream) return v;
  } catch (err) {
    if (err instanceof BerthError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
  return undefined;
}

function httpUrl(value: string): string {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash)
    throw new UsageError(`--from ${JSON.stringify(value)} is not an http(s) endpoint URL: use e.g. https://huggingface.co`, USAGE);
  return u.href.replace(/\/+$/, '');
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      from: { type: 'string' },
      revision: { type: 'string' },
      as: { type: 'string' },
      'upstream-token': { type: 'string' },
      concurrency: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give exactly one repo, as namespace/name', USAGE);
  const repo = positionals[0] as string;
  if (!REPO_ID.test(repo) || repo.split('/').some((s) => s.includes('..')))
    throw new UsageError(`${JSON.stringify(repo)} is not a Hub repo id: use namespace/name (letters, digits, ., _, -)`, USAGE);
  if (typeof values.from !== 'string') throw new UsageError('--from URL, the Hub endpoint to copy from, is required', USAGE);
  const endpoint = httpUrl(values.from);
  const revision = (values.revision as string | undefined) ?? 'main';
  if (revision === '') throw new UsageError('--revision must not be empty', USAGE);
  const model = (values.as as string | undefined) ?? repo;
  const concurrency = parseCount(values.concurrency, 'concurrency', USAGE, 1, 64) ?? 4;
  const hub = new HubSource(endpoint, repo, values['upstream-token'] as string | undefined);
  const say = (line: string) => ctx.io.stderr.write(`${line}\n`);

  const commit = await hub.resolve(revision);
  const upstream = `hf:${repo}@${commit}`;
  if (revision !== commit) say(`${repo}@${revision} is commit ${commit}`);
  const done = await imported(ctx.client(), model, upstream);
  if (done) {
    say(`${upstream} is already ${done.model}:${done.version}; nothing to do`);
    if (ctx.json) ctx.printJson({ model: done.model, version: done.version, digest: done.digest, upstream, skipped: true });
    else ctx.print(`${done.model}:${done.version} ${done.digest} (already imported)`);
    return 0;
  }
  const files = await hub.files(commit);
  if (files.length === 0) throw new BerthError('FAILED_PRECONDITION', `${upstream} has no files: nothing to import`, { upstream });
  const total = files.reduce((n, f) => n + (f.lfs?.size ?? f.size), 0);
  if (values['dry-run']) {
    if (ctx.json) ctx.printJson({ dry_run: true, model, upstream, files: files.map((f) => ({ path: f.path, size: f.lfs?.size ?? f.size })), bytes: total });
    else {
      ctx.print(`would import ${upstream} as a new version of ${model}: ${files.length} file(s), ${bytes(total)}`);
      for (const f of files) ctx.print(`  ${f.path}  ${bytes(f.lfs?.size ?? f.size)}`);
    }
    return 0;
  }

  const dir = await mkdtemp(join(tmpdir(), 'berth-import-hub-'));
  const bar = new ProgressBar(ctx.io.stderr);
  try {
    say(`downloading ${files.length} file(s), ${bytes(total)}, from ${endpoint}`);
    let got = 0;
    const queue = [...files];
    // the first file that fails stops the others, and the folder is removed only once they have stopped
    const stop = new AbortController();
    let failure: unknown;
    const worker = async () => {
      for (let f = queue.shift(); f && !stop.signal.aborted; f = queue.shift()) {
        await fetchVerified(hub, commit, f, join(dir, ...f.path.split('/')), stop.signal, (n) => {
          got += n;
          bar.update('download ', got, total);
        }).catch((err) => {
          if (!stop.signal.aborted) {
            failure = err;
            stop.abort();
          }
          throw err;
        });
      }
    };
    await Promise.allSettled(Array.from({ length: Math.min(concurrency, files.length) }, worker));
    if (stop.signal.aborted) throw failure;
    bar.done();
    say(`verified ${files.length} file(s); pushing to ${model}`);
    const result = await pushDirectory(ctx.client(), dir, {
      model,
      metadata: { upstream, origin: { source: 'hub', endpoint, repo, revision, commit } },
      source: `${endpoint}/${repo}/tree/${commit}`,
      concurrency,
      onProgress: (p) => bar.update(p.phase === 'hash' ? 'hashing  ' : 'uploading', p.done, p.total),
    });
    bar.done();
    const v = result.version;
    if (ctx.json) ctx.printJson({ model: v.model, version: v.version, digest: v.digest, upstream, files: result.files, uploaded_bytes: result.uploaded_bytes });
    else {
      ctx.print(`${v.model}:${v.version} ${v.digest}`);
      ctx.print(`${upstream}: ${result.files.length} file(s), ${bytes(v.size)}, uploaded ${bytes(result.uploaded_bytes)}`);
    }
    return 0;
  } finally {
    bar.done();
    await rm(dir, { recursive: true, force: true });
  }
}
