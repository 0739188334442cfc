import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, isExternalSource, validateModelName, type Model, type Version } from '@berth/core';
import type { BerthClient } from '@berth/sdk';
import { nodeFetch, pushDirectory } from '@berth/sdk/node';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { localPath, MlflowSource, type MlflowFile, type MlflowModel, type MlflowVersion } from '../import/mlflow-source.js';
import { bytes } from '../output/format.js';

const USAGE = `usage: berth import mlflow --from URL [--models GLOB ...] [--dry-run] [--concurrency 4] [--json]
Copies a running MLflow server's registry into Berth through its REST API: every registered
model (or those whose name matches a --models glob, * and ?), each version with its artifacts
(pinned by digest), its tags, description and stage, the model's aliases, tags and description,
and each source run's params, latest metrics and tags. Each version records where it came from in
metadata.mlflow (server, model, version, run id, source). Running it again copies only what is
missing, so an interrupted import is finished by running the same command again.
The artifacts are read through the server's artifact proxy (mlflow server --serve-artifacts);
a version whose source is in object storage or on the web (s3://, gs://, wasbs://, hdfs://,
dbfs:/, http(s)://) is registered as an external version: the URI recorded, no files, marked
not content-addressed (docs/decisions/0021); one in any other place MLflow's server does not
serve (file:…) is listed as not copied (exit 1).
--dry-run prints the plan and changes nothing. Progress goes to stderr.`;

/** What the import does with one MLflow version. */
type VersionAction = 'copy' | 'external' | 'present' | 'unreadable';

interface VersionPlan {
  mlflow: MlflowVersion;
  action: VersionAction;
  berth_version?: number;
  /** Why a version cannot be copied. */
  reason?: string;
}

interface ModelPlan {
  mlflow: MlflowModel;
  create: boolean;
  /** Why the model cannot be imported at all (a name Berth refuses). */
  refused?: string;
  versions: VersionPlan[];
}

/** The origin each imported version records; an import matches versions on server, model and version. */
interface Origin {
  server: string;
  model: string;
  version: number;
  run_id: string | null;
  source: string;
}

/** Sources whose files the MLflow server itself serves (through runs, logged models or its artifact proxy). */
const PROXIED = /^(runs:\/|models:\/m-|mlflow-artifacts:)/;

const unreadable = (source: string) => `its files (${source}) are not served by the MLflow server's artifact proxy`;

function globRegex(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

function originOf(v: Version): Origin | undefined {
  const o = v.metadata.mlflow as Partial<Origin> | undefined;
  return o && typeof o === 'object' && typeof o.server === 'string' && typeof o.model === 'string' && typeof o.version === 'number' ? (o as Origin) : undefined;
}

const sameMap = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      from: { type: 'string' },
      models: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
      concurrency: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, USAGE);
  if (typeof values.from !== 'string' || values.from === '') throw new UsageError('--from URL is required: the MLflow server to copy from', USAGE);
  const concurrency = parseCount(values.concurrency, 'concurrency', USAGE, 1, 64) ?? 4;
  const globs = ((values.models as string[] | undefined) ?? []).map(globRegex);
  const source = new MlflowSource(values.from, ctx.io.fetch ?? nodeFetch);
  const client = ctx.client();
  const log = (line: string) => ctx.io.stderr.write(`${line}\n`);

  const plans = await planImport(source, client, globs, log);
  const incomplete = () => plans.some((p) => p.refused || p.versions.some((v) => v.action === 'unreadable'));
  if (values['dry-run']) {
    report(ctx, source, plans, true);
    return incomplete() ? 1 : 0;
  }
  const work = await mkdtemp(join(tmpdir(), 'berth-import-mlflow-'));
  try {
    const total = plans.reduce((n, p) => n + p.versions.filter((v) => v.action === 'copy' || v.action === 'external').length, 0);
    const counter = { done: 0, total, bytes: 0 };
    const runs = new RunCopier(source, client);
    for (const plan of plans.filter((p) => !p.refused)) await importModel(source, client, plan, runs, work, concurrency, counter, log);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  report(ctx, source, plans, false);
  return incomplete() ? 1 : 0;
}

async function planImport(source: MlflowSource, client: BerthClient, globs: RegExp[], log: (s: string) => void): Promise<ModelPlan[]> {
  const models = (await source.models()).filter((m) => globs.length === 0 || globs.some((g) => g.test(m.name)));
  const plans: ModelPlan[] = [];
  for (const m of models.sort((a, b) => a.name.localeCompare(b.name))) {
    try {
      validateModelName(m.name);
    } catch (err) {
      plans.push({ mlflow: m, create: false, versions: [], refused: (err as Error).message });
      log(`${m.name}: not imported: ${(err as Error).message}`);
      continue;
    }
    const existing = await importedVersions(client, source.url, m.name);
    const versions: VersionPlan[] = [];
    for (const v of await source.versions(m.name)) {
      const present = existing.get(v.version);
      if (present) versions.push({ mlflow: v, action: 'present', berth_version: present.version });
      else if (v.status !== 'READY') versions.push({ mlflow: v, action: 'unreadable', reason: `its status is ${v.status}, not READY` });
      else if (isExternalSource(v.source)) versions.push({ mlflow: v, action: 'external' });
      else if (!PROXIED.test(v.source)) versions.push({ mlflow: v, action: 'unreadable', reason: unreadable(v.source) });
      else versions.push({ mlflow: v, action: 'copy' });
    }
    const create = !(await modelExists(client, m.name));
    plans.push({ mlflow: m, create, versions });
    log(`${m.name}: ${versions.length} version(s) in MLflow, ${versions.filter((v) => v.action === 'present').length} already in Berth`);
  }
  return plans;
}

async function modelExists(client: BerthClient, name: string): Promise<Model | undefined> {
  try {
    return await client.getModel(name);
  } catch (err) {
    if (err instanceof BerthError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/** The Berth versions of `name` an import from `server` made, by MLflow version number. */
async function importedVersions(client: BerthClient, server: string, name: string): Promise<Map<number, Version>> {
  const out = new Map<number, Version>();
  if (!(await modelExists(client, name))) return out;
  for await (const v of client.iterVersions(name)) {
    const o = originOf(v);
    if (o && o.server === server && o.model === name) out.set(o.version, v);
  }
  return out;
}

/** Copies each source run once (params, tags, latest metrics), completing a run an interrupted import left partial. */
class RunCopier {
  private readonly done = new Set<string>();
  private readonly experiments = new Map<string, string>();

  constructor(
    private readonly source: MlflowSource,
    private readonly client: BerthClient,
  ) {}

  async copy(runId: string): Promise<void> {
    if (this.done.has(runId)) return;
    const src = await this.source.run(runId);
    let present: { params: Record<string, string>; metrics: Record<string, number> } | undefined;
    try {
      present = await this.client.getRun(runId);
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'NOT_FOUND')) throw err;
    }
    if (!present) {
      let experiment = this.experiments.get(src.experiment_id);
      if (experiment === undefined) {
        experiment = await this.source.experimentName(src.experiment_id);
        this.experiments.set(src.experiment_id, experiment);
      }
      await this.client.createRun({
        run_id: runId,
        experiment,
        ...(src.run_name ? { name: src.run_name } : {}),
        params: src.params,
        tags: src.tags,
      });
      present = { params: src.params, metrics: {} };
    }
    const params = Object.fromEntries(Object.entries(src.params).filter(([k]) => !(k in present.params)));
    const metrics = src.metrics.filter((m) => !(m.key in present.metrics));
    // the status goes last, so a run whose metrics are not all in is never marked finished
    if (Object.keys(params).length || metrics.length) await this.client.logRun(runId, { params, metrics });
    await this.client.logRun(runId, { status: src.status });
    this.done.add(runId);
  }
}

/** Downloads one version's files into `dir`; resolves to their count and size. */
async function fetchVersion(source: MlflowSource, v: MlflowVersion, root: string, dir: string): Promise<MlflowFile[]> {
  const what = `${v.name} version ${v.version}`;
  const files = await source.files(root, what);
  for (const f of files) await source.download(root, f, localPath(dir, f.path), what);
  return files;
}

async function importModel(
  source: MlflowSource,
  client: BerthClient,
  plan: ModelPlan,
  runs: RunCopier,
  work: string,
  concurrency: number,
  counter: { done: number; total: number; bytes: number },
  log: (s: string) => void,
): Promise<void> {
  const m = plan.mlflow;
  const model = await modelExists(client, m.name);
  if (!model) {
    await client.createModel({ name: m.name, description: m.description, tags: m.tags });
    log(`${m.name}: created the model`);
  } else if (model.description !== m.description || !Object.entries(m.tags).every(([k, v]) => model.tags[k] === v)) {
    await client.updateModel(m.name, { description: m.description, tags: m.tags });
  }

  // Downloads run ahead (up to `concurrency` versions at once) while versions are committed one
  // at a time in MLflow's order, so Berth numbers them in the same order.
  const toCopy = plan.versions.filter((v) => v.action === 'copy');
  const fetched = new Map<number, Promise<{ dir: string; root: string; files: MlflowFile[] } | undefined>>();
  let next = 0;
  const startFetch = () => {
    const vp = toCopy[next++];
    if (!vp) return;
    const v = vp.mlflow;
    const dir = join(work, `${encodeURIComponent(m.name)}-${v.version}`);
    const p = (async () => {
      const root = await source.artifactPath(v.source, `${m.name} version ${v.version}`);
      if (root === undefined) return undefined;
      return { dir, root, files: await fetchVersion(source, v, root, dir) };
    })();
    // a failure is raised where the version is awaited; this only keeps it from being reported unhandled meanwhile
    p.catch(() => {});
    fetched.set(v.version, p);
  };
  for (let i = 0; i < concurrency; i++) startFetch();
  for (const vp of plan.versions.filter((v) => v.action === 'copy' || v.action === 'external')) {
    const v = vp.mlflow;
    if (vp.action === 'external') {
      if (v.run_id) await runs.copy(v.run_id);
      const origin: Origin = { server: source.url, model: m.name, version: v.version, run_id: v.run_id, source: v.source };
      const created = await client.createVersion(m.name, {
        files: [],
        external_uri: v.source,
        description: v.description,
        tags: v.tags,
        metadata: { mlflow: origin },
        ...(v.run_id ? { run_id: v.run_id } : {}),
      });
      vp.berth_version = created.version;
      if (v.stage !== 'None') await setStage(client, m.name, created.version, v.stage);
      counter.done++;
      log(
        `[${counter.done}/${counter.total}] ${m.name}: MLflow version ${v.version} → ${m.name}:${created.version} (external, not content-addressed: ${v.source})`,
      );
      continue;
    }
    const got = await (fetched.get(v.version) as Promise<{ dir: string; root: string; files: MlflowFile[] } | undefined>);
    fetched.delete(v.version);
    startFetch();
    if (!got) {
      vp.action = 'unreadable';
      vp.reason = unreadable(v.source);
      log(`${m.name}: version ${v.version} not copied: ${vp.reason}`);
      continue;
    }
    if (v.run_id) await runs.copy(v.run_id);
    const origin: Origin = { server: source.url, model: m.name, version: v.version, run_id: v.run_id, source: v.source };
    const size = got.files.reduce((n, f) => n + f.size, 0);
    const pushed = await pushDirectory(client, got.dir, {
      model: m.name,
      description: v.description,
      tags: v.tags,
      metadata: { mlflow: origin },
      source: v.source,
      ...(v.run_id ? { runId: v.run_id } : {}),
    });
    await rm(got.dir, { recursive: true, force: true });
    vp.berth_version = pushed.version.version;
    if (v.stage !== 'None') await setStage(client, m.name, pushed.version.version, v.stage);
    counter.done++;
    counter.bytes += size;
    log(
      `[${counter.done}/${counter.total}] ${m.name}: MLflow version ${v.version} → ${m.name}:${pushed.version.version} (${got.files.length} file(s), ${bytes(size)})`,
    );
  }

  // Versions an earlier run copied: the stage, tags and description MLflow has now.
  const present = await importedVersions(client, source.url, m.name);
  for (const vp of plan.versions.filter((x) => x.action === 'present')) {
    const v = vp.mlflow;
    const b = present.get(v.version);
    if (!b) continue;
    if (b.description !== v.description || !sameMap(b.tags, v.tags)) {
      const untag = Object.keys(b.tags).filter((k) => !(k in v.tags));
      await client.updateVersion(m.name, b.version, { description: v.description, tags: v.tags, ...(untag.length ? { untag } : {}) });
    }
    if (b.stage !== v.stage) await setStage(client, m.name, b.version, v.stage);
  }

  const aliases = new Map((await client.listAliases(m.name)).map((a) => [a.alias, a.version]));
  for (const [alias, mlflowVersion] of Object.entries(m.aliases)) {
    const target = present.get(mlflowVersion)?.version;
    if (target === undefined || aliases.get(alias) === target) continue;
    await client.setAlias(m.name, alias, target, { expect: aliases.get(alias) ?? null, reason: `imported from MLflow ${source.url}` });
    log(`${m.name}: alias ${alias} → ${m.name}:${target}`);
  }
}

/**
 * Stages are MLflow's own (deprecated) notion, which the native API does not write: they are set
 * through Berth's MLflow front, the same call the MLflow client makes.
 */
async function setStage(client: BerthClient, name: string, version: number, stage: string): Promise<void> {
  await client.json('POST', '/api/2.0/mlflow/model-versions/transition-stage', {
    body: { name, version: String(version), stage, archive_existing_versions: false },
  });
}

function report(ctx: Context, source: MlflowSource, plans: ModelPlan[], dryRun: boolean): void {
  const count = (a: VersionAction) => plans.reduce((n, p) => n + p.versions.filter((v) => v.action === a).length, 0);
  if (ctx.json) {
    ctx.printJson({
      from: source.url,
      dry_run: dryRun,
      models: plans.map((p) => ({
        name: p.mlflow.name,
        create: p.create,
        ...(p.refused ? { refused: p.refused } : {}),
        aliases: p.mlflow.aliases,
        versions: p.versions.map((v) => ({
          mlflow_version: v.mlflow.version,
          action: v.action,
          ...(v.berth_version !== undefined ? { berth_version: v.berth_version } : {}),
          stage: v.mlflow.stage,
          run_id: v.mlflow.run_id,
          source: v.mlflow.source,
          ...(v.reason ? { reason: v.reason } : {}),
        })),
      })),
      [dryRun ? 'to_copy' : 'copied']: count('copy'),
      [dryRun ? 'to_register_external' : 'registered_external']: count('external'),
      already_present: count('present'),
      not_copied: count('unreadable'),
      models_refused: plans.filter((p) => p.refused).length,
    });
    return;
  }
  const lines = [dryRun ? `plan for importing from ${source.url} (dry run: nothing changes):` : `imported from ${source.url}:`];
  for (const p of plans) {
    if (p.refused) {
      lines.push(`  ${p.mlflow.name}: not imported: ${p.refused}`);
      continue;
    }
    const copy = p.versions.filter((v) => v.action === 'copy').map((v) => v.mlflow.version);
    const present = p.versions.filter((v) => v.action === 'present').length;
    const aliases = Object.entries(p.mlflow.aliases).map(([a, n]) => `${a}→${n}`);
    lines.push(
      `  ${p.mlflow.name}${p.create ? (dryRun ? ' (new model)' : ' (new)') : ''}: ${dryRun ? 'copy' : 'copied'} ${copy.length} version(s)` +
        `${copy.length ? ` [${copy.join(', ')}]` : ''}, ${present} already present${aliases.length ? `; aliases ${aliases.join(', ')}` : ''}`,
    );
    for (const v of p.versions.filter((x) => x.action === 'external'))
      lines.push(`    version ${v.mlflow.version} ${dryRun ? 'to register' : 'registered'} as external (not content-addressed): ${v.mlflow.source}`);
    for (const v of p.versions.filter((x) => x.action === 'unreadable')) lines.push(`    version ${v.mlflow.version} not copied: ${v.reason}`);
  }
  lines.push(`${count('copy')} version(s) ${dryRun ? 'to copy' : 'copied'}, ${count('present')} already present, ${count('unreadable')} not copied`);
  ctx.print(lines.join('\n'));
}
