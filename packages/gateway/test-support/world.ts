import { createHash } from 'node:crypto';
import type { DeploymentDocument, DeploymentUpstream } from '@berth/core';
import type { ControlFactory, ControlOptions, RequestOutcome, ShadowOutcome } from '../src/contract.js';
import { startGateway, type Gateway } from '../src/gateway.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamBehaviour } from './fake-upstream.js';

/** What a test's control plane was told. */
export interface Recorded {
  requests: RequestOutcome[];
  shadows: ShadowOutcome[];
  feedback: Array<{ deployment: string; version: number; score: number }>;
  opts?: ControlOptions;
}

export function recordingControl(rec: Recorded): ControlFactory {
  return (opts) => {
    rec.opts = opts;
    return {
      requestFinished: (o) => void rec.requests.push(o),
      shadowFinished: (o) => void rec.shadows.push(o),
      feedback: (deployment, version, score) => void rec.feedback.push({ deployment, version, score }),
      status: () => ({ recorded: rec.requests.length }),
      stop: async () => {},
    };
  };
}

export function upstream(url: string, over: Partial<DeploymentUpstream> = {}): DeploymentUpstream {
  return { versions: '*', url, adapter: null, protocol: 'openai', health: null, timeout_ms: 5000, ...over };
}

export interface World {
  registry: FakeRegistry;
  ups: FakeUpstream[];
  gw: Gateway;
  rec: Recorded;
  close(): Promise<void>;
}

/**
 * A fake registry holding model cs-bot with versions 1 and 2 (each served by its own fake
 * upstream, named v1 and v2), champion on 1 and challenger on 2, one deployment `chatbot`, and
 * a gateway following it with a recording control plane.
 */
export async function startWorld(
  doc: Partial<DeploymentDocument> = {},
  behaviours: [FakeUpstreamBehaviour?, FakeUpstreamBehaviour?] = [],
  setup?: (r: FakeRegistry) => void,
): Promise<World> {
  const registry = await startFakeRegistry();
  const ups = [await startFakeUpstream('v1', behaviours[0]), await startFakeUpstream('v2', behaviours[1])];
  registry.addVersion('cs-bot', 1, { 'weights.bin': 'one' });
  registry.addVersion('cs-bot', 2, { 'weights.bin': 'two' });
  registry.setAlias('cs-bot', 'champion', 1);
  registry.setAlias('cs-bot', 'challenger', 2);
  setup?.(registry);
  registry.apply({
    deployment: 'chatbot',
    model: 'cs-bot',
    upstreams: [upstream(ups[0]?.url as string, { versions: [1] }), upstream(ups[1]?.url as string, { versions: '*' })],
    ...doc,
  });
  const rec: Recorded = { requests: [], shadows: [], feedback: [] };
  const gw = await startGateway({ url: registry.url, port: 0, control: recordingControl(rec), gatewayId: 'gw-test' });
  return {
    registry,
    ups,
    gw,
    rec,
    async close() {
      await gw.close();
      await Promise.all(ups.map((u) => u.close()));
      await registry.close();
    },
  };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back
  json: any;
  text: string;
}

export async function call(gw: Gateway, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export function chat(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model, messages: [{ role: 'user', content: 'hi' }], ...extra };
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
