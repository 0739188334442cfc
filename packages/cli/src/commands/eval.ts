import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BerthError, parseInstant, type Evaluation, type Version } from '@berth/core';
import { pullVersion } from '@berth/sdk/node';
import { parse, parseCount, parsePairs } from '../args.js';
import { makeContext, type Context } from '../context.js';
import { UsageError } from '../io.js';
import { latencyMetrics, probe } from '../latency-probe.js';
import { table, when } from '../output/format.js';
import { ProgressBar } from '../output/progress.js';

const USAGE = `usage: berth eval record <ref> (--metrics FILE.json | --metric k=v ...) [--dataset NAME@sha256:...] [--by SOURCE] [--measured-at T]
       berth eval run <ref> --command "... {model_dir} ... {output}" [--dataset D] [--keep]
       berth eval latency <ref> --url URL [--method POST] [--body FILE] [--header k:v ...]
                          [--requests 100] [--concurrency 8] [--timeout 30s] [--dataset D] [--berth-url URL]
       berth eval ls <ref>
<ref>: name:12, name@alias or name@sha256:...; every evaluation is recorded for that version.
record  stores metrics measured elsewhere (a JSON object of numbers in FILE, or k=v pairs; a
        --metric overrides the same name in the file). --by names who or what measured them;
        --measured-at when (2026-03-08T14:32:00Z, 2026-03-08 or epoch ms; default now).
run     pulls the version into a temporary folder, runs the command on this machine with
        {model_dir} replaced by that folder and {output} by a file path (also given as
        $BERTH_MODEL_DIR and $BERTH_OUTPUT), then records the JSON object of numbers the command
        wrote to {output}. A failing command records nothing (exit 1). --keep keeps the folder.
latency sends --requests requests to URL, at most --concurrency at a time, and records
        p50_latency_ms, p95_latency_ms, p99_latency_ms (over the 2xx answers), error_rate
        (answers that are not 2xx, and failures) and throughput_rps. Its --url is the endpoint
        probed; the Berth server is --berth-url, else BERTH_URL.
exit codes: 0 recorded, 1 the command or every probe request failed, 2 usage or bad metrics, 3 not found.`;

const OPTIONS = {
  metrics: { type: 'string' },
  metric: { type: 'string', multiple: true },
  dataset: { type: 'string' },
  by: { type: 'string' },
  command: { type: 'string' },
  keep: { type: 'boolean' },
  url: { type: 'string' },
  method: { type: 'string' },
  body: { type: 'string' },
  header: { type: 'string', multiple: true },
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  'berth-url': { type: 'string' },
  'measured-at': { type: 'string' },
} as const;

/** A JSON object of finite numbers, or an error naming what is wrong with it and where it came from. */
export function numericMetrics(value: unknown, from: string): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BerthError('INVALID_ARGUMENT', `${from} must hold a JSON object of metrics, e.g. {"accuracy": 0.92}`, {});
  }
  const bad = Object.entries(value).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad.length > 0) {
    const list = bad.map(([k, v]) => `${k} (${JSON.stringify(v) ?? typeof v})`).join(', ');
    throw new BerthError('INVALID_ARGUMENT', `${from}: every metric must be a finite number; not: ${list}`, { metrics: bad.map(([k]) => k) });
  }
  if (Object.keys(value).length === 0) throw new BerthError('INVALID_ARGUMENT', `${from} holds no metrics`, {});
  return value as Record<string, number>;
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `cannot read ${what} ${path}: ${code ?? (err as Error).message}`, { path });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BerthError('INVALID_ARGUMENT', `${what} ${path} is not JSON: ${(err as Error).message}`, { path });
  }
}

/** A path as one word of a POSIX shell command line. */
export function shellQuote(s: string): string {
  return /^[\w./:@%+=-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

function printRecorded(ctx: Context, e: Evaluation): void {
  if (ctx.json) {
    ctx.printJson(e);
    return;
  }
  const metrics = Object.entries(e.metrics)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const from = [e.dataset ? `dataset ${e.dataset}` : '', e.source ? `by ${e.source}` : ''].filter(Boolean).join(', ');
  ctx.print(`${e.model}:${e.version} evaluation ${e.id} recorded: ${metrics}${from ? ` (${from})` : ''}`);
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, ref] = positionals;
  if (!sub) throw new UsageError('give an eval command: record, run, latency or ls', USAGE);
  if (!['record', 'run', 'latency', 'ls'].includes(sub)) throw new UsageError(`unknown eval command ${JSON.stringify(sub)}`, USAGE);
  if (positionals.length !== 2 || !ref) throw new UsageError(`eval ${sub} takes one version reference (name:12 or name@alias)`, USAGE);
  if (values['measured-at'] !== undefined && sub !== 'record')
    throw new UsageError(`--measured-at is for eval record; eval ${sub} records when it measures`, USAGE);
  if (values['berth-url'] !== undefined && sub !== 'latency')
    throw new UsageError(`--berth-url is for eval latency; eval ${sub} takes the server from --url`, USAGE);
  const dataset = values.dataset as string | undefined;
  switch (sub) {
    case 'record':
      return record(ctx, ref, values, dataset);
    case 'run':
      return runCommand(ctx, ref, values, dataset);
    case 'latency':
      return latency(ctx, ref, values, dataset);
    default:
      return list(ctx, ref);
  }
}

type Values = ReturnType<typeof parse>['values'];

async function record(ctx: Context, ref: string, values: Values, dataset: string | undefined): Promise<number> {
  const file = values.metrics as string | undefined;
  const pairs = values.metric as string[] | undefined;
  if (!file && !pairs) throw new UsageError('give --metrics FILE.json or at least one --metric name=value', USAGE);
  const fromFile = file ? numericMetrics(await readJson(resolve(ctx.io.cwd, file), '--metrics file'), `--metrics ${file}`) : {};
  const fromFlags = pairs ? numericMetrics(parsePairs(pairs, 'metric', USAGE, true), '--metric') : {};
  const at = values['measured-at'] as string | undefined;
  const measuredAt = at === undefined ? undefined : new Date(parseInstant(at, 'measured-at')).toISOString();
  const v = await ctx.client().resolve(ref);
  const e = await ctx.client().recordEvaluation(v.model, v.version, {
    metrics: { ...fromFile, ...fromFlags },
    ...(dataset ? { dataset } : {}),
    ...(values.by ? { source: values.by as string } : {}),
    ...(measuredAt ? { measured_at: measuredAt } : {}),
  });
  printRecorded(ctx, e);
  return 0;
}

async function runCommand(ctx: Context, ref: string, values: Values, dataset: string | undefined): Promise<number> {
  const command = values.command as string | undefined;
  if (!command?.trim()) throw new UsageError('give --command "... {model_dir} ... {output}"', USAGE);
  const client = ctx.client();
  const version = await client.resolve(ref);
  const dir = await mkdtemp(join(tmpdir(), 'berth-eval-'));
  const keep = values.keep === true;
  try {
    const modelDir = join(dir, 'model');
    const output = join(dir, 'metrics.json');
    const bar = new ProgressBar(ctx.io.stderr);
    await pullVersion(client, version, modelDir, {
      onProgress: (p) => bar.update(p.phase === 'verify' ? 'verifying  ' : 'downloading', p.done, p.total),
    }).finally(() => bar.done());
    const line = command.replaceAll('{model_dir}', shellQuote(modelDir)).replaceAll('{output}', shellQuote(output));
    ctx.io.stderr.write(`running: ${line}\n`);
    const exit = await shell(line, ctx, { BERTH_MODEL_DIR: modelDir, BERTH_OUTPUT: output });
    if (exit !== 0) {
      throw new BerthError('FAILED_PRECONDITION', `the command ${exit}; nothing was recorded for ${version.model}:${version.version}`, { command });
    }
    let written: unknown;
    try {
      written = await readJson(output, 'the command output');
    } catch (err) {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `the command finished but wrote nothing to {output} (${output}): have it write a JSON object of metrics there, e.g. {"accuracy": 0.92}; nothing was recorded`,
          { command },
        );
      }
      throw new BerthError('FAILED_PRECONDITION', `${(err as Error).message}; nothing was recorded`, { command });
    }
    let metrics: Record<string, number>;
    try {
      metrics = numericMetrics(written, 'the command output {output}');
    } catch (err) {
      throw new BerthError('FAILED_PRECONDITION', `${(err as Error).message}; nothing was recorded`, { command });
    }
    const e = await client.recordEvaluation(version.model, version.version, {
      metrics,
      source: runSource(command),
      ...(dataset ? { dataset } : {}),
      details: { command },
    });
    printRecorded(ctx, e);
    return 0;
  } finally {
    if (keep) ctx.io.stderr.write(`kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** The source of an `eval run` evaluation: the command, shortened to what the server keeps (500 characters); details keep it whole. */
export function runSource(command: string): string {
  const source = `berth eval run: ${command}`;
  return source.length <= 500 ? source : `${source.slice(0, 499)}…`;
}

/** Runs a command line in the user's shell, its output on our stderr (stdout stays for --json); resolves with how it ended. */
function shell(line: string, ctx: Context, env: Record<string, string>): Promise<0 | string> {
  return new Promise((done) => {
    // Its own process group (POSIX), so a signal reaches the shell and everything it started.
    const group = process.platform !== 'win32';
    const child = spawn(line, { shell: true, cwd: ctx.io.cwd, env: { ...ctx.io.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => ctx.io.stderr.write(text));
    }
    // Ctrl-C or a CI job's SIGTERM stops the command, and berth waits for it to end so that the
    // pulled copy of the model is removed rather than left in the temp folder.
    const forward = (signal: NodeJS.Signals) => {
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    process.on('SIGINT', forward).on('SIGTERM', forward);
    const end = (how: 0 | string) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      done(how);
    };
    child.on('error', (err) => end(`could not start (${err.message})`));
    child.on('close', (code, signal) => end(code === 0 ? 0 : signal ? `was killed by ${signal}` : `exited with code ${code}`));
  });
}

async function latency(ctx: Context, ref: string, values: Values, dataset: string | undefined): Promise<number> {
  const url = values.url as string | undefined;
  if (!url) throw new UsageError('give --url URL of the endpoint to probe', USAGE);
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(url)} is not a URL: use e.g. http://127.0.0.1:9000/v1/chat/completions`, USAGE);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new UsageError(`--url must be http(s), not ${target.protocol}`, USAGE);
  const requests = parseCount(values.requests, 'requests', USAGE, 1, 10_000_000) ?? 100;
  const concurrency = parseCount(values.concurrency, 'concurrency', USAGE, 1, 1024) ?? 8;
  const timeoutMs = values.timeout === undefined ? 30_000 : parseDurationMs(values.timeout as string);
  const headers: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`--header takes name:value, not ${JSON.stringify(h)}`, USAGE);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  let body: Uint8Array | undefined;
  if (values.body) {
    const path = resolve(ctx.io.cwd, values.body as string);
    body = await readFile(path).catch((err: NodeJS.ErrnoException) => {
      throw new BerthError(err.code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `cannot read --body ${path}: ${err.code ?? err.message}`, { path });
    });
    // A JSON body is what chat and inference endpoints expect; say so unless the user did.
    headers['content-type'] ??= /\.json$/i.test(path) ? 'application/json' : 'application/octet-stream';
  }
  const method = ((values.method as string | undefined) ?? (body ? 'POST' : 'GET')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`--method ${JSON.stringify(values.method)} is not an HTTP method`, USAGE);
  if (body && (method === 'GET' || method === 'HEAD')) throw new UsageError(`--body cannot be sent with ${method}: use --method POST`, USAGE);

  // Here --url is the endpoint (as in curl): the server is --berth-url, else BERTH_URL, else the default.
  const client = makeContext(ctx.io, { url: values['berth-url'], json: ctx.json, token: values.token }).client();
  // Resolve first: a typo in the reference should not cost a whole probe.
  const version: Version = await client.resolve(ref);
  const tty = Boolean(ctx.io.stderr.isTTY);
  const started = Date.now();
  let last = started;
  ctx.io.stderr.write(`probing ${method} ${target.href}: ${requests} request(s), ${Math.min(concurrency, requests)} at a time\n`);
  const result = await probe({
    url: target.href,
    method,
    headers,
    body,
    requests,
    concurrency,
    timeoutMs,
    onProgress: (done, total) => {
      // A terminal gets one line redrawn ten times a second; a log (CI) a line every 10 s, so a long probe shows it is alive.
      const now = Date.now();
      if (now - last < (tty ? 100 : 10_000) && done !== total) return;
      last = now;
      ctx.io.stderr.write(`${tty ? '\r' : ''}${done}/${total} requests, ${((now - started) / 1000).toFixed(1)} s${tty && done !== total ? '' : '\n'}`);
    },
  });
  if (result.latencies_ms.length === 0) {
    throw new BerthError('FAILED_PRECONDITION', `all ${requests} request(s) failed, nothing was recorded; the first: ${result.first_error}`, {
      outcomes: result.outcomes,
    });
  }
  const metrics = latencyMetrics(result);
  const e = await client.recordEvaluation(version.model, version.version, {
    metrics,
    source: 'berth eval latency',
    ...(dataset ? { dataset } : {}),
    details: { url: target.href, method, requests, concurrency, outcomes: result.outcomes, duration_ms: Math.round(result.duration_ms) },
  });
  if (!ctx.json && result.errors > 0) ctx.io.stderr.write(`${result.errors} of ${requests} request(s) failed; the first: ${result.first_error}\n`);
  printRecorded(ctx, e);
  return 0;
}

function parseDurationMs(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm'] : NaN;
  if (!(ms >= 1)) throw new UsageError(`--timeout ${JSON.stringify(raw)} is not a duration: use e.g. 500ms, 30s or 2m`, USAGE);
  return ms;
}

async function list(ctx: Context, ref: string): Promise<number> {
  const v = await ctx.client().resolve(ref);
  const items: Evaluation[] = [];
  for await (const e of ctx.client().iterEvaluations(v.model, v.version)) items.push(e);
  if (ctx.json) return (ctx.printJson(items), 0);
  if (items.length === 0) return (ctx.print(`${v.model}:${v.version} has no evaluations`), 0);
  ctx.print(
    table(
      ['ID', 'MEASURED', 'SOURCE', 'DATASET', 'METRICS'],
      items.map((e) => [
        e.id,
        when(e.measured_at),
        e.source,
        e.dataset,
        Object.entries(e.metrics)
          .map(([k, x]) => `${k}=${x}`)
          .join(' '),
      ]),
    ),
  );
  return 0;
}
