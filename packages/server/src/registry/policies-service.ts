import {
  BerthError,
  anyPatternMatches,
  canonicalJson,
  invalid,
  isPolicyName,
  modelPatternMatches,
  notFound,
  parsePolicy,
  sha256Hex,
  type PolicyDocument,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { PolicyRecord } from '../store/policies.js';
import { requireRole, type Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import { Keyset } from './paging.js';
import type { ResultPage } from './results.js';

/** A policy version, and whether applying it added nothing (the same document was the latest). */
export interface PolicyView extends PolicyRecord {
  unchanged: boolean;
}

/** Largest policy text accepted. */
const MAX_POLICY_BYTES = 256 * 1024;

function checkName(name: string): void {
  if (!isPolicyName(name)) throw invalid(`invalid policy name ${JSON.stringify(name)}: use 1-128 characters of A-Z a-z 0-9 . _ -`, { field: 'name' });
}

/** Whether two bindings can cover one model: a shared pattern, or one pattern matching the other read as a name. */
function overlap(a: readonly string[], b: readonly string[]): boolean {
  return a.some((p) => b.some((q) => p === q || modelPatternMatches(p, q) || modelPatternMatches(q, p)));
}

/**
 * The policy bound to name@alias (its `models:` patterns match the model and its target_alias is
 * the alias), or undefined. Two bindings of one model and alias are refused at apply time; should
 * patterns still meet (`a*` and `*b` both match `ab`), the move is refused rather than guessed.
 */
export async function boundPolicy(tx: StoreTx, name: string, alias: string): Promise<PolicyRecord | undefined> {
  const matches = (await tx.policies.boundTo(alias)).filter((p) => anyPatternMatches(p.document.models, name));
  if (matches.length > 1) {
    throw new BerthError(
      'CONFLICT',
      `${name}@${alias} is bound to more than one policy (${matches.map((p) => p.name).join(', ')}): narrow their models: lists`,
      {
        alias,
        policies: matches.map((p) => p.name),
      },
    );
  }
  return matches[0];
}

export function policyDigest(doc: PolicyDocument): string {
  return `sha256:${sha256Hex(canonicalJson(doc))}`;
}

/** A policy's YAML as a document: the size limit and core's parser, for apply and for a draft checked before it is applied. */
export function readPolicyText(yaml: string): PolicyDocument {
  if (typeof yaml !== 'string' || yaml.length > MAX_POLICY_BYTES)
    throw invalid(`a policy is a YAML text of at most ${MAX_POLICY_BYTES} bytes`, { field: 'yaml' });
  return parsePolicy(yaml);
}

export class PolicyService {
  constructor(private readonly deps: RegistryDeps) {}

  /** Stores a policy's YAML as its next version (or nothing new when the document is unchanged). */
  async apply(actor: Actor, name: string, yaml: string): Promise<PolicyView> {
    requireRole(actor, 'admin', 'applying a policy');
    checkName(name);
    const document = readPolicyText(yaml);
    if (document.policy !== name) {
      throw invalid(`the policy document is named ${document.policy}, not ${name}: apply it as ${document.policy} or rename it`, {
        field: 'policy',
        key: 'policy',
      });
    }
    const digest = policyDigest(document);
    return this.deps.store.transaction(async (tx) => {
      const latest = await tx.policies.latest(name);
      if (latest?.digest === digest) return { ...latest, unchanged: true };
      if (document.models.length > 0) {
        const rival = (await tx.policies.allBound()).find(
          (p) => p.name !== name && p.document.target_alias === document.target_alias && overlap(p.document.models, document.models),
        );
        if (rival) {
          throw new BerthError(
            'CONFLICT',
            `policy ${rival.name} already binds ${document.target_alias} on ${rival.document.models.join(', ')}: one policy per model and alias; narrow models: or change that policy`,
            { policy: rival.name, alias: document.target_alias },
          );
        }
      }
      const now = this.deps.clock.now();
      const rec: PolicyRecord = { name, version: (latest?.version ?? 0) + 1, digest, document, yaml, created_by: actor.name, created_at: now };
      await tx.policies.insertLatest(rec);
      await recordChange(tx, actor, now, {
        action: 'policy.applied',
        subject: { type: 'policy', name },
        before: latest ? { version: latest.version, digest: latest.digest } : null,
        after: { version: rec.version, digest, target_alias: document.target_alias, models: document.models },
      });
      return { ...rec, unchanged: false };
    });
  }

  /** A policy's latest version, or the version asked for. */
  async get(name: string, version?: number): Promise<PolicyRecord> {
    checkName(name);
    return requirePolicy(this.deps.store.read, name, version);
  }

  async list(opts: { cursor?: string; limit?: unknown }): Promise<ResultPage<PolicyRecord>> {
    const keyset = new Keyset(opts, 'n', String);
    return keyset.page(await this.deps.store.read.policies.listLatest({ after: keyset.after, limit: keyset.fetch }), (p) => p.name);
  }
}

export async function requirePolicy(tx: StoreTx, name: string, version?: number): Promise<PolicyRecord> {
  const p = version === undefined ? await tx.policies.latest(name) : await tx.policies.find(name, version);
  if (!p) {
    throw notFound(`policy ${JSON.stringify(name)}${version === undefined ? '' : ` version ${version}`} not found: list policies with \`berth policy ls\``, {
      policy: name,
      ...(version === undefined ? {} : { version }),
    });
  }
  return p;
}
