import type { DeploymentDocument, Rollout } from './deployment-schemas.js';

/**
 * Traffic math of the gateway (DESIGN §2 "Deployments and the gateway"): which versions answer
 * clients and in what shares, given a deployment, where its aliases point and the rollout it is
 * in. Pure, so every gateway computes the same split from the same registry state.
 */

/** Version → percent of client requests; the shadow version only receives copies. */
export interface Split {
  weights: Map<number, number>;
  shadow: number | null;
}

function add(weights: Map<number, number>, version: number | null | undefined, percent: number): void {
  if (version === null || version === undefined || percent <= 0) return;
  weights.set(version, (weights.get(version) ?? 0) + percent);
}

function live(rollout: Rollout | null): rollout is Rollout {
  return rollout !== null && (rollout.state === 'progressing' || rollout.state === 'held');
}

/**
 * The split in force. A canary shares traffic only while its rollout is live and still about the
 * version the candidate alias holds (a candidate moved on is a new canary, not this one's
 * weight); blue-green keeps the old side until the rollout completes (the switch); a bake, like
 * no rollout, sends everything to the stable holder.
 */
export function splitFor(doc: DeploymentDocument, aliases: Readonly<Record<string, number | null>>, rollout: Rollout | null): Split {
  const weights = new Map<number, number>();
  const stable = aliases[doc.stable] ?? null;
  const candidate = doc.candidate === null ? null : (aliases[doc.candidate] ?? null);
  switch (doc.strategy) {
    case 'canary':
      if (live(rollout) && rollout.kind === 'canary' && candidate !== null && rollout.candidate_version === candidate) {
        add(weights, stable, 100 - rollout.weight);
        add(weights, candidate, rollout.weight);
      } else add(weights, stable, 100);
      return { weights, shadow: null };
    case 'blue-green':
      add(weights, live(rollout) && rollout.kind === 'blue-green' && rollout.stable_version !== null ? rollout.stable_version : stable, 100);
      return { weights, shadow: null };
    case 'shadow':
      add(weights, stable, 100);
      return { weights, shadow: candidate !== null && candidate !== stable ? candidate : null };
    case 'ab':
      for (const [alias, percent] of Object.entries(doc.ab?.weights ?? {})) add(weights, aliases[alias], percent);
      return { weights, shadow: null };
    default:
      add(weights, stable, 100);
      return { weights, shadow: null };
  }
}

/**
 * The split with the versions a gateway may not route to taken out: their share goes to
 * `fallback` (the stable holder) when it is routable, otherwise it is dropped.
 */
export function withoutRefused(weights: ReadonlyMap<number, number>, routable: (version: number) => boolean, fallback: number | null): Map<number, number> {
  const out = new Map<number, number>();
  let moved = 0;
  for (const [version, percent] of weights) {
    if (routable(version)) out.set(version, (out.get(version) ?? 0) + percent);
    else moved += percent;
  }
  if (moved > 0 && fallback !== null && routable(fallback)) out.set(fallback, (out.get(fallback) ?? 0) + moved);
  return out;
}

/** The version a request goes to, for `u` uniform in [0, 1); shares need not sum to 100. Null when nothing has a share. */
export function pick(weights: ReadonlyMap<number, number>, u: number): number | null {
  let total = 0;
  for (const percent of weights.values()) total += percent;
  if (total <= 0) return null;
  const target = u * total;
  let last: number | null = null;
  let acc = 0;
  for (const [version, percent] of weights) {
    if (percent <= 0) continue;
    acc += percent;
    last = version;
    if (target < acc) return version;
  }
  return last;
}

/**
 * A stable position in [0, 1) for a request key, so one user always lands on one variant:
 * 32-bit FNV-1a over its UTF-16 code units, then MurmurHash3's finaliser, because FNV alone
 * leaves the top bits (which decide the bucket) nearly equal for keys like `u1` and `u2`.
 */
export function stickyBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** Where an A/B deployment reads its sticky key: `header:<name>` (lower-cased) or `body:<top-level field>`. */
export function parseAbKey(key: string): { from: 'header' | 'body'; name: string } | null {
  const m = /^(header|body):(.+)$/.exec(key);
  if (!m) return null;
  return m[1] === 'header' ? { from: 'header', name: (m[2] as string).toLowerCase() } : { from: 'body', name: m[2] as string };
}

/**
 * Whether a shadow answer differs from the one the client got: compared after trimming,
 * collapsing every run of whitespace to one space and lower-casing, so line wrapping and
 * capitalisation do not count as a different answer; anything else does.
 */
export function outputsDiffer(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(a) !== norm(b);
}
