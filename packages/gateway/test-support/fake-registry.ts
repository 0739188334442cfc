import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { manifestDigest, type BerthEvent, type Deployment, type DeploymentDocument, type Rollout, type RoutedVersion, type RoutingSnapshot } from '@berth/core';

/**
 * The registry API a gateway reads, served from memory on loopback: deployments, routing
 * snapshots, the event stream (SSE, resumable with Last-Event-ID) and version files. The
 * gateway's unit tests route against it; the real registry is exercised end to end in e2e/.
 * Shapes are core's (deployment-schemas.ts), so a drift there breaks these tests' types.
 */
export interface FakeRegistry {
  url: string;
  /** Stores (or replaces) a deployment from a partial document; publishes `deployment.applied`. */
  apply(doc: Partial<DeploymentDocument> & Pick<DeploymentDocument, 'deployment' | 'model' | 'upstreams'>): Deployment;
  remove(name: string): void;
  /** Registers a version's files (text or bytes); `digest` overrides the computed one (a version whose bytes do not verify). */
  addVersion(
    model: string,
    version: number,
    files: Record<string, string | Uint8Array>,
    opts?: { kind?: string; digest?: string; contentAddressed?: boolean; serve?: Record<string, string | Uint8Array> },
  ): RoutedVersion;
  setAlias(model: string, alias: string, version: number | null): void;
  setRollout(deployment: string, rollout: Partial<Rollout> | null): void;
  /** Publishes an event of any type, as the real registry's outbox would. */
  publish(e: Pick<BerthEvent, 'type' | 'model' | 'subject'> & { data?: Record<string, unknown> }): BerthEvent;
  /** How many routing snapshots were read, per deployment. */
  routingReads: Map<string, number>;
  /** Deployments whose routing snapshot answers 503 UNAVAILABLE while listed here. */
  unavailable: Set<string>;
  /** Goes away (every connection cut, nothing listening) until `resume`. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytesOf = (v: string | Uint8Array) => (typeof v === 'string' ? new TextEncoder().encode(v) : v);
const TIME = '2026-03-08T14:32:00.000Z';

export function documentOf(doc: Partial<DeploymentDocument> & Pick<DeploymentDocument, 'deployment' | 'model' | 'upstreams'>): DeploymentDocument {
  return {
    strategy: 'single',
    stable: 'champion',
    candidate: null,
    steps: [],
    ab: null,
    slos: { error_rate: null, p99_latency_ms: null, quality: null },
    analysis_interval_ms: 10_000,
    bake_ms: 0,
    judge: null,
    shadow: null,
    warmup: { checks: 3, interval_ms: 1000, timeout_ms: 60_000 },
    ...doc,
  };
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const deployments = new Map<string, Deployment>();
  const aliases = new Map<string, Map<string, number>>();
  const versions = new Map<string, { routed: RoutedVersion; bytes: Map<string, Uint8Array> }>();
  const rollouts = new Map<string, Rollout>();
  const events: BerthEvent[] = [];
  const streams = new Set<{ res: ServerResponse; types: string[] }>();
  const sockets = new Set<Socket>();
  const routingReads = new Map<string, number>();
  const unavailable = new Set<string>();
  let port = 0;

  const matches = (types: string[], type: string) =>
    types.length === 0 || types.some((t) => t === type || (t.endsWith('.*') && type.startsWith(t.slice(0, -1))));

  function publish(e: Pick<BerthEvent, 'type' | 'model' | 'subject'> & { data?: Record<string, unknown> }): BerthEvent {
    const event: BerthEvent = { seq: events.length + 1, timestamp: TIME, actor: 'test', reason: null, data: {}, ...e };
    events.push(event);
    for (const s of streams) if (matches(s.types, event.type)) s.res.write(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
    return event;
  }

  function snapshot(name: string): RoutingSnapshot | undefined {
    const d = deployments.get(name);
    if (!d) return undefined;
    const doc = d.document;
    const held = aliases.get(doc.model) ?? new Map<string, number>();
    const named = [doc.stable, ...(doc.candidate ? [doc.candidate] : []), ...Object.keys(doc.ab?.weights ?? {})];
    const a: Record<string, number | null> = {};
    for (const n of named) a[n] = held.get(n) ?? null;
    const rollout = rollouts.get(name) ?? null;
    const wanted = new Set<number>();
    for (const v of Object.values(a)) if (v !== null) wanted.add(v);
    if (rollout) {
      wanted.add(rollout.candidate_version);
      if (rollout.stable_version !== null) wanted.add(rollout.stable_version);
    }
    const vs = [...wanted].flatMap((v) => {
      const found = versions.get(`${doc.model}:${v}`);
      return found ? [found.routed] : [];
    });
    return { seq: events.length, deployment: d, aliases: a, versions: vs, rollout };
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json', 'berth-api': '1' });
    res.end(JSON.stringify(body));
  }
  const notFound = (res: ServerResponse, message: string) => send(res, 404, { error: { code: 'NOT_FOUND', message, details: {} } });

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    const routing = /^\/api\/v1\/deployments\/([^/]+)\/routing$/.exec(p);
    const file = /^\/api\/v1\/models\/([^/]+)\/versions\/(\d+)\/files\/(.+)$/.exec(p);
    if (p === '/api/v1/deployments') return send(res, 200, { items: [...deployments.values()], next_cursor: null });
    if (routing) {
      const name = decodeURIComponent(routing[1] as string);
      routingReads.set(name, (routingReads.get(name) ?? 0) + 1);
      if (unavailable.has(name)) return send(res, 503, { error: { code: 'UNAVAILABLE', message: 'try again', details: {} } });
      const s = snapshot(name);
      return s ? send(res, 200, s) : notFound(res, `deployment ${name} does not exist`);
    }
    if (file) {
      const v = versions.get(`${decodeURIComponent(file[1] as string)}:${file[2]}`);
      const bytes = v?.bytes.get(decodeURIComponent(file[3] as string));
      if (!bytes) return notFound(res, 'no such file');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, 'x-berth-sha256': sha256(bytes), 'berth-api': '1' });
      return void res.end(bytes);
    }
    if (p === '/api/v1/events') {
      const after = Math.max(Number(url.searchParams.get('after') ?? 0), Number(req.headers['last-event-id'] ?? 0));
      const types = (url.searchParams.get('types') ?? '').split(',').filter(Boolean);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'berth-api': '1' });
      res.write('retry: 200\n\n');
      for (const e of events.slice(after)) if (matches(types, e.type)) res.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`);
      const s = { res, types };
      streams.add(s);
      res.on('close', () => streams.delete(s));
      return;
    }
    notFound(res, `no route ${req.method} ${p}`);
  }

  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await listen();
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    routingReads,
    unavailable,
    publish,
    apply(input) {
      const document = documentOf(input);
      const prev = deployments.get(document.deployment);
      const d: Deployment = {
        name: document.deployment,
        version: (prev?.version ?? 0) + 1,
        digest: `sha256:${sha256(bytesOf(JSON.stringify(document)))}`,
        model: document.model,
        document,
        yaml: JSON.stringify(document),
        created_by: 'test',
        created_at: TIME,
      };
      deployments.set(d.name, d);
      publish({ type: 'deployment.applied', model: d.model, subject: d.name, data: { deployment: d.name, version: d.version } });
      return d;
    },
    remove(name) {
      const d = deployments.get(name);
      deployments.delete(name);
      rollouts.delete(name);
      publish({ type: 'deployment.deleted', model: d?.model ?? null, subject: name, data: { deployment: name } });
    },
    addVersion(model, version, files, opts = {}) {
      const bytes = new Map(Object.entries(opts.serve ?? files).map(([k, v]) => [k, bytesOf(v)]));
      const list = Object.entries(files)
        .map(([path, v]) => ({ path, size: bytesOf(v).length, sha256: sha256(bytesOf(v)) }))
        .sort((a, b) => (a.path < b.path ? -1 : 1));
      const routed: RoutedVersion = {
        version,
        digest: opts.digest ?? manifestDigest(list),
        kind: opts.kind ?? 'model',
        content_addressed: opts.contentAddressed ?? true,
        files: list,
        metadata: {},
      };
      versions.set(`${model}:${version}`, { routed, bytes });
      publish({ type: 'version.created', model, subject: `${model}:${version}` });
      return routed;
    },
    setAlias(model, alias, version) {
      const held = aliases.get(model) ?? new Map<string, number>();
      aliases.set(model, held);
      const previous = held.get(alias) ?? null;
      if (version === null) held.delete(alias);
      else held.set(alias, version);
      publish({
        type: version === null ? 'alias.deleted' : 'alias.moved',
        model,
        subject: `${model}@${alias}`,
        data: { alias, previous_version: previous, version, promotion: null },
      });
    },
    setRollout(deployment, r) {
      const d = deployments.get(deployment);
      if (r === null) rollouts.delete(deployment);
      else
        rollouts.set(deployment, {
          id: 'ro_test',
          deployment,
          kind: 'canary',
          stable_version: null,
          candidate_version: 1,
          state: 'progressing',
          step: 0,
          weight: 0,
          started_at: TIME,
          step_started_at: TIME,
          updated_at: TIME,
          last_decision: null,
          ...r,
        });
      publish({ type: 'deployment.rollout_started', model: d?.model ?? null, subject: deployment, data: { deployment } });
    },
    pause: stop,
    resume: listen,
    close: stop,
  };
}
