import {
  BerthError,
  manifestDigest,
  parseAbKey,
  splitFor,
  withoutRefused,
  type BerthEvent,
  type DeploymentUpstream,
  type RoutedVersion,
  type RoutingSnapshot,
} from '@berth/core';
import type { BerthClient } from '@berth/sdk';
import { loadBundle, Refusal, upstreamModel, type LoadedBundle } from './bundle.js';
import type { DeploymentsView, LiveDeployment } from './contract.js';

/** Where one verified version's requests go. */
export interface VersionRoute {
  version: number;
  /** `cs-bot:13`, the `x-berth-version` header. */
  label: string;
  upstream: DeploymentUpstream;
  /** `http://host:port`, the key of the connection pool. */
  origin: string;
  /** The upstream URL's path without its trailing slash (`/v1`). */
  basePath: string;
  /** The OpenAI `model` sent upstream. */
  model: string;
  bundle: LoadedBundle | null;
}

/** A LiveDeployment with what the data plane needs per request, computed once per swap. */
export interface RoutedDeployment extends LiveDeployment {
  routes: ReadonlyMap<number, VersionRoute>;
  stableVersion: number | null;
  abKey: { from: 'header' | 'body'; name: string } | null;
}

type Listener = (name: string, now: LiveDeployment | undefined, before: LiveDeployment | undefined) => void;
type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** The events that can change how a deployment routes. */
const FOLLOWED = ['alias.*', 'deployment.*', 'version.*', 'promotion.*'];
const CATCH_UP_EVERY_MS = 1000;

/**
 * Follows the registry: a routing snapshot per deployment, then the event stream; every event
 * about a deployment or its model re-reads that deployment and replaces its view whole, so a
 * request in flight keeps the snapshot it started with and never sees half a change. While the
 * registry is away the last view keeps serving; once it answers again every deployment is read
 * again (catch-up), besides the events the stream resumes with.
 */
export class Follower implements DeploymentsView {
  private readonly live = new Map<string, RoutedDeployment>();
  private readonly listeners = new Set<Listener>();
  private readonly refreshing = new Map<string, { again: boolean; done: Promise<void> }>();
  /** Bundle loads by model, version and digest: a version's bytes never change under one digest. */
  private readonly bundles = new Map<string, Promise<LoadedBundle>>();
  private readonly abort = new AbortController();
  private catchingUp = false;
  private after = 0;
  connected = false;

  constructor(
    private readonly client: BerthClient,
    private readonly names: readonly string[] | undefined,
    private readonly log: Log,
    private readonly onConnected: (connected: boolean) => void,
  ) {}

  get(name: string): RoutedDeployment | undefined {
    return this.live.get(name);
  }
  all(): RoutedDeployment[] {
    return [...this.live.values()];
  }
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads every deployment, then follows events from the oldest snapshot on. Throws when the registry cannot be read at all. */
  async start(): Promise<void> {
    const failed = await this.reloadAll();
    const seqs = this.all().map((d) => d.seq);
    this.after = seqs.length ? Math.min(...seqs) : 0;
    this.setConnected(true);
    if (failed > 0) this.catchUp();
    void this.follow();
  }

  stop(): void {
    this.abort.abort();
  }

  refresh(name: string): Promise<void> {
    const running = this.refreshing.get(name);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.load(name);
        } while (entry.again && !this.abort.signal.aborted);
      } finally {
        this.refreshing.delete(name);
      }
    })();
    this.refreshing.set(name, entry);
    return entry.done;
  }

  /** Reads every deployment again; resolves with how many could not be read, throws when none could. */
  private async reloadAll(): Promise<number> {
    let names: string[];
    if (this.names) names = [...this.names];
    else {
      names = [];
      for await (const d of this.client.iterDeployments()) names.push(d.name);
    }
    for (const gone of [...this.live.keys()].filter((n) => !names.includes(n))) this.swap(gone, undefined);
    const results = await Promise.allSettled(names.map((n) => this.refresh(n)));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    if (failed.length === names.length && failed.length > 0) throw failed[0]?.reason;
    for (const f of failed) this.log('warn', 'a deployment could not be read: keeping its last view', { error: String(f.reason) });
    return failed.length;
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.onConnected(connected);
    this.log(connected ? 'info' : 'warn', connected ? 'following the registry' : 'registry away: serving the last known state');
  }

  private async follow(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        for await (const e of this.client.events({ after: this.after, types: FOLLOWED, signal, onReconnect: () => this.disconnected() })) {
          this.after = e.seq;
          this.onEvent(e);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log('warn', 'the event stream failed; retrying', { error: String(err) });
        this.disconnected();
        await new Promise((r) => setTimeout(r, CATCH_UP_EVERY_MS));
      }
    }
  }

  /** The registry went away: serve on, and read everything again as soon as it answers. */
  private disconnected(): void {
    this.setConnected(false);
    this.catchUp();
  }

  /** Reads everything again every second until every deployment could be read. */
  private catchUp(): void {
    if (this.catchingUp) return;
    this.catchingUp = true;
    const attempt = () => {
      if (this.abort.signal.aborted) return;
      this.reloadAll().then(
        (failed) => {
          this.setConnected(true);
          if (failed > 0) setTimeout(attempt, CATCH_UP_EVERY_MS).unref();
          else this.catchingUp = false;
        },
        () => setTimeout(attempt, CATCH_UP_EVERY_MS).unref(),
      );
    };
    setTimeout(attempt, CATCH_UP_EVERY_MS).unref();
  }

  private onEvent(e: BerthEvent): void {
    if (e.type === 'deployment.served') return;
    const refresh = (name: string) =>
      this.refresh(name).catch((err) => this.log('warn', 'could not re-read a deployment', { deployment: name, error: String(err) }));
    if (e.type.startsWith('deployment.')) {
      const name = typeof e.data.deployment === 'string' ? e.data.deployment : e.subject;
      if (this.names && !this.names.includes(name)) return;
      const cur = this.live.get(name);
      if (cur && e.seq <= cur.seq) return;
      if (e.type === 'deployment.deleted') this.swap(name, undefined);
      else void refresh(name);
      return;
    }
    for (const d of this.live.values()) if (d.document.model === e.model && e.seq > d.seq) void refresh(d.name);
  }

  private async load(name: string): Promise<void> {
    let snap: RoutingSnapshot;
    try {
      snap = await this.client.deploymentRouting(name);
    } catch (err) {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') return this.swap(name, undefined);
      throw err;
    }
    const cur = this.live.get(name);
    if (cur && cur.seq > snap.seq) return;
    this.swap(name, await this.build(snap));
  }

  private swap(name: string, now: RoutedDeployment | undefined): void {
    const before = this.live.get(name);
    if (!now && !before) return;
    if (now) this.live.set(name, now);
    else this.live.delete(name);
    for (const l of this.listeners) {
      try {
        l(name, now, before);
      } catch (err) {
        this.log('error', 'a deployment listener failed', { deployment: name, error: String(err) });
      }
    }
  }

  private bundle(model: string, v: RoutedVersion): Promise<LoadedBundle> {
    const key = `${model}\u0000${v.version}\u0000${v.digest}`;
    let p = this.bundles.get(key);
    if (!p) {
      p = loadBundle(this.client, model, v.version, v.files);
      this.bundles.set(key, p);
      // A refusal is a fact about these bytes and stays; a registry that did not answer is asked again next time.
      p.catch((err) => {
        if (!(err instanceof Refusal)) this.bundles.delete(key);
      });
    }
    return p;
  }

  /** The route of a version, or why it gets no traffic. */
  private async verify(snap: RoutingSnapshot, v: RoutedVersion): Promise<VersionRoute | string> {
    const doc = snap.deployment.document;
    const label = `${doc.model}:${v.version}`;
    if (!v.content_addressed) return `${label} is not content-addressed (an external version): its bytes cannot be verified`;
    let digest: string;
    try {
      digest = manifestDigest(v.files);
    } catch (err) {
      return `${label} has a malformed file list: ${(err as Error).message}`;
    }
    if (digest !== v.digest) return `${label} does not verify: its files hash to ${digest}, not its digest ${v.digest}`;
    const upstream = doc.upstreams.find((u) => u.versions === '*' || u.versions.includes(v.version));
    if (!upstream) return `no upstream serves ${label}`;
    let bundle: LoadedBundle | null = null;
    if (v.kind === 'bundle') {
      try {
        bundle = await this.bundle(doc.model, v);
      } catch (err) {
        if (err instanceof Refusal) return err.message;
        throw err;
      }
    }
    const url = new URL(upstream.url);
    return {
      version: v.version,
      label,
      upstream,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      model: upstreamModel(upstream.adapter, doc.model, v.version, bundle),
      bundle,
    };
  }

  private async build(snap: RoutingSnapshot): Promise<RoutedDeployment> {
    const doc = snap.deployment.document;
    const split = splitFor(doc, snap.aliases, snap.rollout);
    const versions = new Map<number, RoutedVersion>();
    const routes = new Map<number, VersionRoute>();
    const refused = new Map<number, string>();
    const checked = await Promise.all(snap.versions.map(async (v) => [v, await this.verify(snap, v)] as const));
    for (const [v, r] of checked) {
      if (typeof r === 'string') refused.set(v.version, r);
      else {
        versions.set(v.version, v);
        routes.set(v.version, r);
      }
    }
    for (const v of [...split.weights.keys(), ...(split.shadow === null ? [] : [split.shadow])]) {
      if (!routes.has(v) && !refused.has(v)) refused.set(v, `${doc.model}:${v} is not in the registry's routing snapshot`);
    }
    for (const [v, why] of refused)
      if (split.weights.has(v) || split.shadow === v) this.log('warn', 'refusing a version', { deployment: doc.deployment, version: v, why });
    const stableVersion = snap.aliases[doc.stable] ?? null;
    return {
      name: snap.deployment.name,
      document: doc,
      record: snap.deployment,
      aliases: snap.aliases,
      rollout: snap.rollout,
      versions,
      weights: withoutRefused(split.weights, (v) => routes.has(v), stableVersion),
      shadowVersion: split.shadow !== null && routes.has(split.shadow) ? split.shadow : null,
      refused,
      seq: snap.seq,
      routes,
      stableVersion,
      abKey: doc.strategy === 'ab' && doc.ab ? parseAbKey(doc.ab.key) : null,
    };
  }
}
