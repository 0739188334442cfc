import type { Deployment, DeploymentDocument, Rollout, RoutedVersion } from '@berth/core';

/**
 * What the gateway's two halves say to each other. The data plane (the HTTP server, the proxy,
 * the follower of the registry) routes requests and hands every outcome to the control plane;
 * the control plane (statistics, the judge, analysis, rollout decisions, served reports) reads
 * the deployments the data plane routes by and asks it to probe upstreams.
 */

/** One finished client request (never a shadow copy). */
export interface RequestOutcome {
  requestId: string;
  deployment: string;
  version: number;
  /** Epoch milliseconds when the answer finished (or failed). */
  at: number;
  latencyMs: number;
  /**
   * An upstream failure: a 5xx, a timeout, a connection refused or cut mid-stream, an answer
   * that is not what the protocol promises. Counts against `error_rate`. A 4xx from the
   * upstream is the client's own error and does not count.
   */
  error: boolean;
  tokensIn: number;
  tokensOut: number;
  /** The client's request as sent to the upstream (messages or prompt, after bundle rendering); null for the http protocol. */
  input: unknown;
  /** The answer's text (choice 0's content, streamed chunks joined), or null when there was none. */
  output: string | null;
}

/** One shadow copy's outcome, compared with the answer the client got. */
export interface ShadowOutcome {
  deployment: string;
  version: number;
  at: number;
  latencyMs: number;
  error: boolean;
  /** Whether its text differed from the returned answer's; null when either had none. */
  differed: boolean | null;
}

/** A deployment as the gateway currently routes it: replaced whole on every change, never mutated. */
export interface LiveDeployment {
  name: string;
  document: DeploymentDocument;
  record: Deployment;
  aliases: Readonly<Record<string, number | null>>;
  rollout: Rollout | null;
  /** Versions verified (digest recomputed, bundle parts loaded) that may be routed to. */
  versions: ReadonlyMap<number, RoutedVersion>;
  /** The split in force: version → percent, summing to 100 over the versions that answer clients (shadow not included). */
  weights: ReadonlyMap<number, number>;
  /** The version receiving shadow copies, or null. */
  shadowVersion: number | null;
  /** Versions named by the registry but refused by this gateway, with why (digest does not verify, not content-addressed, no upstream). */
  refused: ReadonlyMap<number, string>;
  /** The event sequence number this view reflects. */
  seq: number;
}

export interface DeploymentsView {
  get(name: string): LiveDeployment | undefined;
  all(): LiveDeployment[];
  /** Called after a deployment is replaced (`now`) or removed (`now` undefined), with what it replaced. */
  onChange(listener: (name: string, now: LiveDeployment | undefined, before: LiveDeployment | undefined) => void): () => void;
  /** Reads one deployment from the registry again now (after a decision), replacing the view when it changed. */
  refresh(name: string): Promise<void>;
}

export interface ProbeResult {
  ok: boolean;
  /** HTTP status of the probe, or null when no answer came. */
  status: number | null;
  ms: number;
  error: string | null;
}

/** What the data plane offers the control plane. */
export interface DataPlane {
  view: DeploymentsView;
  /** One health probe of the upstream serving `version` of a deployment (blue-green warm-up). */
  probe(deployment: string, version: number): Promise<ProbeResult>;
  /** Records a quality score in the gateway's Prometheus metrics (feedback is recorded by the data plane itself). */
  recordJudgeScore(deployment: string, version: number, score: number): void;
}

/** What the control plane offers the data plane. Every method returns at once: nothing here may slow a request. */
export interface ControlPlane {
  requestFinished(o: RequestOutcome): void;
  shadowFinished(o: ShadowOutcome): void;
  /** Explicit feedback (`POST /v1/feedback`) for a request the data plane served. */
  feedback(deployment: string, version: number, score: number, at: number): void;
  /** A JSON summary of analysis state per deployment, for the gateway's `/status`. */
  status(): Record<string, unknown>;
  stop(): Promise<void>;
}

export interface ControlOptions {
  /** The registry client, with a token allowed to decide rollouts (approver on the deployments' models). */
  client: import('@berth/sdk').BerthClient;
  data: DataPlane;
  /** This gateway's name in decisions and reports. */
  gatewayId: string;
  /** How often served reports are sent to the registry. */
  reportIntervalMs: number;
  /** The clock (tests pass a fake); epoch milliseconds. */
  now: () => number;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export type ControlFactory = (opts: ControlOptions) => ControlPlane;
