import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BerthEvent, Deployment, Rollout } from '@berth/core';
import { BerthClient } from '@berth/sdk';
import { BIN, ROOT, berth, startBerth, tempDir, type CliResult, type ServerHandle } from '../support.js';

/**
 * The end-to-end harness of the deployment gateway: a real `berth server` process, real
 * `berth gateway` processes following it, and the CLI a user types. Fake upstreams
 * (fake-openai.ts) stand for the model servers.
 */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Registry {
  url: string;
  port: number;
  dir: string;
  client: BerthClient;
  server: ServerHandle;
  /** Runs the real CLI against this registry. */
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** Runs the CLI and fails with its output unless it exits 0; returns stdout. */
  ok(args: string[], env?: Record<string, string>): Promise<string>;
  /** Kills the server process (SIGKILL: nothing is flushed or said goodbye to). */
  kill(): Promise<void>;
  /** Starts the server again on the same data folder and the same port, so gateways find it where it was. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const WEBHOOK_ENV = { BERTH_WEBHOOK_ALLOW_PRIVATE: '1' };

export async function startRegistry(prefix = 'berth-e2e-gw-'): Promise<Registry> {
  const tmp = await tempDir(prefix);
  let server = await startBerth(tmp.dir, [], WEBHOOK_ENV);
  const port = Number(new URL(server.url).port);
  const reg: Registry = {
    url: server.url,
    port,
    dir: tmp.dir,
    client: new BerthClient({ url: server.url }),
    server,
    cli: (args, env = {}) => berth(args, { url: server.url, cwd: tmp.dir, env }),
    async ok(args, env = {}) {
      const r = await reg.cli(args, env);
      if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r.stdout;
    },
    async kill() {
      await server.stop('SIGKILL');
    },
    async restart() {
      // The last --port wins: the same port as before, so a gateway's reconnects reach it.
      server = await startBerth(tmp.dir, ['--port', String(port)], WEBHOOK_ENV);
      reg.server = server;
    },
    async stop() {
      await server.stop();
      await tmp.cleanup();
    },
  };
  return reg;
}

export interface GatewayProcess {
  url: string;
  id: string;
  proc: ChildProcess;
  /** Everything it printed, for failure messages. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface GatewayOptions {
  id?: string;
  /** How often it reports what it served (short in tests). */
  reportInterval?: string;
  /** Routing only, no analysis (a second gateway). */
  noAnalysis?: boolean;
  port?: number;
}

let gatewayCount = 0;

/** Starts `berth gateway` following the registry, and waits for it to answer /healthz. */
export async function startGateway(registryUrl: string, opts: GatewayOptions = {}): Promise<GatewayProcess> {
  const id = opts.id ?? `gw-${process.pid}-${++gatewayCount}`;
  const args = [BIN, 'gateway', '--url', registryUrl, '--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--gateway-id', id];
  args.push('--report-interval', opts.reportInterval ?? '500ms');
  if (opts.noAnalysis) args.push('--no-analysis');
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, BERTH_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`berth gateway did not start in 20 s:\n${out}`)), 20_000);
    const look = () => {
      const m = /listening on (http:\/\/[^\s"]+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', look);
        res(m[1]!.replace(/\/$/, ''));
      }
    };
    proc.stdout!.on('data', look);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`berth gateway exited with ${code}:\n${out}`));
    });
  });
  await waitUntil(`gateway ${id} healthy`, async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok === true, 10_000);
  return {
    url,
    id,
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await once(proc, 'exit');
    },
  };
}

type Truthy<T> = Exclude<NonNullable<T>, false | 0 | ''>;

/** Polls until `fn` gives something truthy, or fails naming what it waited for. */
export async function waitUntil<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<Truthy<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(everyMs);
  }
}

/** Registers `count` content-addressed versions of a model, each with its own bytes; returns their numbers. */
export async function pushVersions(client: BerthClient, model: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = Buffer.from(`${model} weights ${i} ${Date.now()}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const v = await client.createVersion(model, {
      files: [{ path: 'model.bin', size: bytes.length, sha256 }],
      blobs: [{ sha256, base64: bytes.toString('base64') }],
    });
    out.push(v.version);
  }
  return out;
}

/** `berth deploy apply` of the YAML, as a user does; returns the stored deployment. */
export async function applyDeployment(reg: Registry, yaml: string): Promise<Deployment> {
  const file = join(reg.dir, `deploy-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  await reg.ok(['deploy', 'apply', file]);
  const name = /^deployment:\s*(\S+)/m.exec(yaml)?.[1] ?? '';
  return reg.client.getDeployment(name);
}

/** Writes the YAML to a file and runs `berth deploy apply` on it, whatever the outcome. */
export async function tryApply(reg: Registry, yaml: string): Promise<CliResult> {
  const file = join(reg.dir, `deploy-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  return reg.cli(['deploy', 'apply', file]);
}

export interface Answer {
  status: number;
  /** `x-berth-version`, e.g. `cs-bot:13`, or null. */
  version: string | null;
  deployment: string | null;
  requestId: string | null;
  headers: Headers;
  text: string;
  json: unknown;
  /** The assistant's text: choice 0's content, or the streamed deltas joined. */
  content: string | null;
  ms: number;
}

/** One OpenAI chat completion through the gateway (or straight at an upstream). */
export async function chat(
  baseUrl: string,
  model: string,
  opts: { stream?: boolean; headers?: Record<string, string>; body?: Record<string, unknown>; path?: string } = {},
): Promise<Answer> {
  const t0 = performance.now();
  const body = { model, messages: [{ role: 'user', content: 'hello' }], ...(opts.stream ? { stream: true } : {}), ...opts.body };
  const r = await fetch(`${baseUrl}${opts.path ?? '/v1/chat/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown = null;
  let content: string | null = null;
  if (opts.stream && r.headers.get('content-type')?.includes('text/event-stream')) {
    content = sseContent(text);
  } else {
    try {
      json = JSON.parse(text);
      const c = (json as { choices?: { message?: { content?: string } }[] }).choices?.[0]?.message?.content;
      content = typeof c === 'string' ? c : null;
    } catch {
      json = null;
    }
  }
  return {
    status: r.status,
    version: r.headers.get('x-berth-version'),
    deployment: r.headers.get('x-berth-deployment'),
    requestId: r.headers.get('x-request-id'),
    headers: r.headers,
    text,
    json,
    content,
    ms: performance.now() - t0,
  };
}

/** The `data:` payloads of an SSE body, `[DONE]` included as the string. */
export function sseEvents(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6).trim())
    .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
}

function sseContent(text: string): string {
  let s = '';
  for (const e of sseEvents(text)) {
    const c = (e as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content;
    if (typeof c === 'string') s += c;
  }
  return s;
}

/** `berth feedback <id> --score X --gateway URL`, as a user sends a quality signal. */
export function feedbackCli(reg: Registry, gw: GatewayProcess, requestId: string, score: number): Promise<CliResult> {
  return reg.cli(['feedback', requestId, '--score', String(score), '--gateway', gw.url]);
}

/** `POST /v1/feedback` on a gateway. */
export async function feedback(gatewayUrl: string, requestId: string, score: number): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${gatewayUrl}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: requestId, score }),
  });
  return { status: r.status, json: (await r.json()) as unknown };
}

export interface Sample {
  /** Which of the load's targets answered it (index into the URLs given). */
  target: number;
  /** Epoch ms (performance-timed) when the request was sent and when its answer was complete. */
  start: number;
  end: number;
  status: number;
  version: string | null;
  /** Why it counts as failed, or null. */
  failure: string | null;
}

/**
 * Keeps `connections` requests in flight against the gateways (round robin over `urls`), and
 * records every one. A request fails when it does not answer 200 with a complete OpenAI answer.
 */
export class Load {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly workers: Promise<void>[] = [];

  constructor(
    private readonly urls: string[],
    private readonly model: string,
    connections: number,
    private readonly opts: { headers?: () => Record<string, string>; stream?: boolean } = {},
  ) {
    for (let i = 0; i < connections; i++) this.workers.push(this.worker(i));
  }

  private async worker(i: number): Promise<void> {
    let n = i;
    while (this.running) {
      const target = n++ % this.urls.length;
      const start = performance.timeOrigin + performance.now();
      let status = 0;
      let version: string | null = null;
      let failure: string | null = null;
      try {
        const a = await chat(this.urls[target]!, this.model, { headers: this.opts.headers?.(), stream: this.opts.stream });
        status = a.status;
        version = a.version;
        if (a.status !== 200) failure = `status ${a.status}: ${a.text.slice(0, 200)}`;
        else if (!a.content) failure = `no answer text: ${a.text.slice(0, 200)}`;
        else if (!version) failure = 'no x-berth-version';
      } catch (err) {
        failure = `request failed: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`;
      }
      this.samples.push({ target, start, end: performance.timeOrigin + performance.now(), status, version, failure });
    }
  }

  failures(): Sample[] {
    return this.samples.filter((s) => s.failure !== null);
  }

  /** The samples sent after `t` (epoch ms), oldest answer first. */
  since(t: number): Sample[] {
    // Samples are appended as answers complete, so only the tail can have been sent after t.
    let i = this.samples.length;
    while (i > 0 && this.samples[i - 1]!.end >= t) i--;
    return this.samples.slice(i).filter((s) => s.start >= t);
  }

  async stop(): Promise<Sample[]> {
    this.running = false;
    await Promise.all(this.workers);
    return this.samples;
  }
}

/** Each version's count among the answers, keyed by `x-berth-version`. */
export function countVersions(samples: { version: string | null }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.version) out[s.version] = (out[s.version] ?? 0) + 1;
  return out;
}

export interface Metric {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The gateway's Prometheus `/metrics`, parsed. */
export async function metrics(gatewayUrl: string): Promise<Metric[]> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const out: Metric[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `labels` (a version label matches `2` or `model:2`). */
export function metricSum(all: Metric[], name: string, labels: Record<string, string>): number {
  return all
    .filter((m) => m.name === name)
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v || (k === 'version' && m.labels[k]?.endsWith(`:${v}`))))
    .reduce((s, m) => s + m.value, 0);
}

/** The deployment events of a model, oldest first. */
export async function deploymentEvents(client: BerthClient, model: string, deployment?: string): Promise<BerthEvent[]> {
  const out: BerthEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listEvents({ model, types: ['deployment.*'], cursor, limit: 500 });
    out.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return out.filter((e) => deployment === undefined || e.subject === deployment || (e.data as { deployment?: unknown }).deployment === deployment);
}

/** The rollout a deployment event carries (`data.rollout`). */
export function rolloutOf(e: BerthEvent): Rollout {
  return e.data.rollout as Rollout;
}

/** The reason a decision gave: the event's own, else the rollout's last decision's. */
export function reasonOf(e: BerthEvent): string {
  return e.reason ?? rolloutOf(e).last_decision?.reason ?? '';
}

export interface Hook {
  url: string;
  /** Every event body received, parsed. */
  events: BerthEvent[];
  close(): Promise<void>;
}

/** A webhook endpoint that records what it is sent (signatures are checked by the webhook suites). */
export async function startHookReceiver(): Promise<Hook> {
  const events: BerthEvent[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        events.push(JSON.parse(body) as BerthEvent);
      } catch {
        // A body that is not an event is not what this test looks for.
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    events,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** p-th percentile (nearest rank) of numbers. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}
