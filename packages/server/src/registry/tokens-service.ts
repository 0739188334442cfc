import { hash, randomBytes } from 'node:crypto';
import {
  BerthError,
  TOKEN_PREFIX,
  TOKEN_ROLES,
  TOKEN_SECRET_LENGTH,
  invalid,
  looksLikeToken,
  notFound,
  parseExpiresIn,
  validateModelPattern,
  validateTokenName,
  type CreateTokenBody,
  type TokenRole,
} from '@berth/core';
import type { TokenRecord } from '../store/tokens.js';
import { requireRole, type Actor, type Role } from './actor.js';
import type { RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';

/**
 * How long a looked-up token is trusted without asking the database again. A revoke through
 * this server clears the cache at once; another server sharing the database (PostgreSQL)
 * honours it within this time (docs/decisions/0013).
 */
export const TOKEN_CACHE_TTL_MS = 5_000;
/** Past this many cached tokens the cache starts over: a flood of forged tokens cannot grow it without bound. */
const CACHE_MAX = 10_000;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `hf_` + 40 base62 characters from the system's CSPRNG, without modulo bias (bytes ≥ 248 are drawn again). */
function newSecret(): string {
  let out = TOKEN_PREFIX;
  while (out.length < TOKEN_PREFIX.length + TOKEN_SECRET_LENGTH) {
    for (const b of randomBytes(64)) {
      if (b < 248 && out.length < TOKEN_PREFIX.length + TOKEN_SECRET_LENGTH) out += BASE62[b % 62];
    }
  }
  return out;
}

/** A token as the registry hands it out: its row, whose `hash` fronts must not show. */
export type TokenView = TokenRecord;

export function hashToken(secret: string): string {
  // The one-shot hash: a quarter of createHash's cost, on a path every authenticated request takes.
  return hash('sha256', secret, 'hex');
}

/** A role and every role below it. */
const ROLES_UP_TO: Record<TokenRole, ReadonlySet<Role>> = {
  viewer: new Set<Role>(['viewer']),
  editor: new Set<Role>(['viewer', 'editor']),
  approver: new Set<Role>(['viewer', 'editor', 'approver']),
  admin: new Set<Role>(TOKEN_ROLES),
};

/** Who a valid token is: the actor fields besides `via` (the front fills that in). */
export interface TokenIdentity {
  name: string;
  roles: ReadonlySet<Role>;
  scopes?: readonly string[];
  expiresAt: number | null;
}

interface CacheEntry {
  identity: TokenIdentity | null;
  until: number;
}

export interface CreatedToken {
  record: TokenRecord;
  /** The secret: returned once, never stored. */
  token: string;
}

function identityOf(t: TokenRecord): TokenIdentity {
  return { name: t.name, roles: ROLES_UP_TO[t.role as TokenRole], ...(t.models ? { scopes: t.models } : {}), expiresAt: t.expires_at };
}

/** What the audit trail keeps of a token: never its secret or hash. */
function auditView(t: TokenRecord): Record<string, unknown> {
  return { role: t.role, models: t.models, expires_at: t.expires_at === null ? null : new Date(t.expires_at).toISOString() };
}

/** Bearer tokens: create (shown once), list, revoke, and the lookup every authenticated request makes. */
export class TokenService {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(private readonly deps: RegistryDeps) {}

  async create(actor: Actor, input: CreateTokenBody): Promise<CreatedToken> {
    requireRole(actor, 'admin', 'creating a token');
    const name = validateTokenName(input.name);
    if (!(TOKEN_ROLES as readonly string[]).includes(input.role))
      throw invalid(`role ${JSON.stringify(input.role)} is not one of ${TOKEN_ROLES.join(', ')}`, { field: 'role' });
    const models = input.models ? [...new Set(input.models.map((p) => validateModelPattern(p)))] : null;
    const now = this.deps.clock.now();
    const expiresAt = this.expiry(input, now);
    const token = newSecret();
    const record = await this.deps.store.transaction(async (tx) => {
      if (await tx.tokens.findByName(name)) {
        throw new BerthError('ALREADY_EXISTS', `token ${JSON.stringify(name)} already exists (names are never reused, even after a revoke)`, { token: name });
      }
      const r: TokenRecord = {
        name,
        hash: hashToken(token),
        role: input.role,
        models,
        expires_at: expiresAt,
        created_by: actor.name,
        created_at: now,
        revoked_at: null,
        revoked_by: null,
      };
      await tx.tokens.insert(r);
      await recordChange(tx, actor, now, { action: 'token.create', subject: { type: 'token', name }, after: auditView(r) });
      return r;
    });
    // A secret someone tried before it existed may be cached as unknown.
    this.cache.clear();
    return { record, token };
  }

  private expiry(input: CreateTokenBody, now: number): number | null {
    if (input.expires_in !== undefined && input.expires_at !== undefined) throw invalid('give expires_in or expires_at, not both', { field: 'expires_in' });
    if (input.expires_in !== undefined) return now + parseExpiresIn(input.expires_in);
    if (input.expires_at === undefined) return null;
    const at = Date.parse(input.expires_at);
    if (!Number.isFinite(at)) throw invalid(`expires_at ${JSON.stringify(input.expires_at)} is not an ISO time`, { field: 'expires_at' });
    if (at <= now) throw invalid(`expires_at ${input.expires_at} is in the past: a token must expire later than now`, { field: 'expires_at' });
    return at;
  }

  async list(actor: Actor): Promise<TokenRecord[]> {
    requireRole(actor, 'admin', 'listing tokens');
    return this.deps.store.read.tokens.list();
  }

  /** Revokes a token; its row stays for the audit trail. Revoking a revoked token changes nothing. */
  async revoke(actor: Actor, name: string, reason?: string): Promise<TokenRecord> {
    requireRole(actor, 'admin', 'revoking a token');
    const now = this.deps.clock.now();
    const record = await this.deps.store.transaction(async (tx) => {
      const t = await tx.tokens.findByName(name);
      if (!t) throw notFound(`token ${JSON.stringify(name)} not found: list tokens with \`berth token ls\``, { token: name });
      if (await tx.tokens.revoke(name, now, actor.name)) {
        await recordChange(tx, actor, now, {
          action: 'token.revoke',
          subject: { type: 'token', name },
          before: auditView(t),
          after: null,
          reason: reason ?? null,
        });
        return { ...t, revoked_at: now, revoked_by: actor.name };
      }
      return t;
    });
    this.cache.clear();
    return record;
  }

  /** Tokens that would let someone in now (the start-up check for a non-loopback listener). */
  async countActive(): Promise<number> {
    return this.deps.store.read.tokens.countActive(this.deps.clock.now());
  }

  /**
   * Who `secret` is: from the cache synchronously (the hot path pays no promise), else a
   * promise of the database's answer. null: unknown, revoked or expired.
   */
  identify(secret: string): TokenIdentity | null | Promise<TokenIdentity | null> {
    if (!looksLikeToken(secret)) return null;
    const now = this.deps.clock.now();
    // Keyed by the secret itself, so a hit costs no hash: the secret is in this process's memory
    // for the request anyway, and the cache holds it no longer than the TTL.
    const hit = this.cache.get(secret);
    if (hit !== undefined && hit.until > now) return live(hit.identity, now);
    return this.deps.store.read.tokens.findByHash(hashToken(secret)).then((t) => {
      const identity = t && t.revoked_at === null ? identityOf(t) : null;
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(secret, { identity, until: now + TOKEN_CACHE_TTL_MS });
      return live(identity, this.deps.clock.now());
    });
  }
}

function live(identity: TokenIdentity | null, now: number): TokenIdentity | null {
  return identity !== null && (identity.expiresAt === null || identity.expiresAt > now) ? identity : null;
}
