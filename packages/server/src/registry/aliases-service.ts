import { BerthError, invalid, notFound, parseInstant, parseReference, validateAliasName, validateModelName } from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord } from '../store/models.js';
import type { AliasRecord } from '../store/aliases.js';
import { requireRole, type Actor } from './actor.js';
import { cleanReason, conflict, protectedReason, requireModel, requireVersion, type RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import { Keyset } from './paging.js';
import type { AliasAtTime, AliasHistoryView, AliasView, ModelAtTime, ModelSnapshot, ResultPage } from './results.js';

export interface AliasMove {
  alias: string;
  /** The version to point at; null deletes the alias. */
  version: number | null;
  /** The version the caller believes the alias holds now (null: unset); undefined: no check. */
  expect?: number | null;
}

/**
 * A policy bound to an alias (issue 9) turns every move of that alias into a promotion under it.
 * registry.ts wires the promotions service in here, so this file does not import it (no cycle).
 */
export interface AliasBinding {
  /** The name of the policy bound to name@alias, if any. */
  boundPolicy(name: string, alias: string): Promise<string | undefined>;
  /** Promotes `version` to the alias under its bound policy; resolves once the alias moved, or refuses. */
  promote(actor: Actor, name: string, input: { alias: string; version: number; expect?: number | null; reason?: string | null }): Promise<void>;
}

function checkVersionNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalid(`${field} must be a positive version number`, { field });
  return v;
}

function view(model: ModelRecord, a: AliasRecord): AliasView {
  return { ...a, model: model.name, protected: model.protected_aliases.includes(a.alias) };
}

export class AliasService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly binding?: AliasBinding,
  ) {}

  async list(name: string): Promise<AliasView[]> {
    validateModelName(name);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    return (await tx.aliases.listForModel(model.id)).map((a) => view(model, a));
  }

  async set(actor: Actor, name: string, alias: string, input: { version: number; expect?: number | null; reason?: string | null }): Promise<AliasView> {
    const [out] = await this.move(actor, name, [{ alias, version: input.version, expect: input.expect }], input.reason);
    return out as AliasView;
  }

  async delete(actor: Actor, name: string, alias: string, input: { expect?: number | null; reason?: string | null } = {}): Promise<void> {
    await this.move(actor, name, [{ alias, version: null, expect: input.expect }], input.reason);
  }

  /**
   * Moves several aliases in one transaction, each with its own compare-and-swap: all move or
   * none do. Every move writes an alias-history row and an audit event with the previous and
   * the new version. Returns the aliases after the move (deleted ones are left out).
   */
  async move(actor: Actor, name: string, moves: AliasMove[], reason?: string | null): Promise<AliasView[]> {
    requireRole(actor, 'editor', 'moving an alias', name);
    validateModelName(name);
    if (!Array.isArray(moves) || moves.length === 0) throw invalid('give at least one alias move', { field: 'moves' });
    const seen = new Set<string>();
    for (const m of moves) {
      validateAliasName(m.alias);
      if (seen.has(m.alias)) throw invalid(`alias ${m.alias} appears twice in one move`, { field: 'moves' });
      seen.add(m.alias);
      if (m.version !== null) checkVersionNumber(m.version, 'version');
      if (m.expect !== undefined && m.expect !== null) checkVersionNumber(m.expect, 'expect');
    }
    if (this.binding) {
      const promoted = await this.throughBinding(this.binding, actor, name, moves, reason);
      if (promoted) return promoted;
    }
    return this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      const out: AliasView[] = [];
      for (const m of moves) {
        const a = await this.moveOne(tx, actor, model, m, reason);
        if (a) out.push(a);
      }
      return out;
    });
  }

  /**
   * A move of a policy-bound alias is a promotion under its policy: a single set goes through
   * it and answers the alias as the promotion left it; a delete, or a batch with other moves, is
   * refused, since a promotion moves one alias with its evidence. Undefined: no alias is bound.
   */
  private async throughBinding(
    binding: AliasBinding,
    actor: Actor,
    name: string,
    moves: AliasMove[],
    reason: string | null | undefined,
  ): Promise<AliasView[] | undefined> {
    for (const m of moves) {
      const policy = await binding.boundPolicy(name, m.alias);
      if (policy === undefined) continue;
      if (m.version === null || moves.length > 1) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `${name}@${m.alias} is bound to policy ${policy}: it moves only through a promotion (\`berth promote ${name}:<version> --to ${m.alias}\`), so a ${m.version === null ? 'delete' : 'swap or batch'} touching it is refused`,
          { alias: m.alias, policy },
        );
      }
      await binding.promote(actor, name, { alias: m.alias, version: m.version, expect: m.expect, reason });
      const tx = this.deps.store.read;
      const model = await requireModel(tx, name);
      const a = await tx.aliases.find(model.id, m.alias);
      return a ? [view(model, a)] : [];
    }
    return undefined;
  }

  /**
   * FAILED_PRECONDITION when a policy binds the alias: it moves only through a promotion, so a
   * caller that moves it inside its own transaction (moveIn) asks this first, outside it.
   */
  async refuseBound(name: string, alias: string): Promise<void> {
    const policy = this.binding ? await this.binding.boundPolicy(name, alias) : undefined;
    if (policy !== undefined)
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${name}@${alias} is bound to policy ${policy}: it moves only through a promotion (\`berth promote ${name}:<version> --to ${alias}\`)`,
        { alias, policy },
      );
  }

  /** Inside a caller's transaction: one move with its compare-and-swap, the protected and frozen alias rules, history and audit. */
  async moveIn(tx: StoreTx, actor: Actor, model: ModelRecord, m: AliasMove, reason?: string | null): Promise<AliasView | undefined> {
    return this.moveOne(tx, actor, model, m, reason);
  }

  private async moveOne(tx: StoreTx, actor: Actor, model: ModelRecord, m: AliasMove, reason: string | null | undefined): Promise<AliasView | undefined> {
    const isProtected = model.protected_aliases.includes(m.alias);
    if (isProtected) requireRole(actor, 'approver', `moving protected alias ${model.name}@${m.alias}`, model.name);
    const recorded = isProtected ? protectedReason(reason, actor.via) : cleanReason(reason);
    const cur = await tx.aliases.find(model.id, m.alias);
    const current = cur?.version ?? null;
    if (cur?.frozen) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `alias ${model.name}@${m.alias} is frozen: unfreeze it with \`berth alias unfreeze ${model.name} ${m.alias}\` first`,
        {
          alias: m.alias,
          frozen: true,
          current,
        },
      );
    }
    if (m.expect !== undefined && m.expect !== current) {
      throw conflict(
        `${m.alias} is ${current === null ? 'not set' : `at ${current}`} now (expected ${m.expect === null ? 'unset' : m.expect}); nothing was changed`,
        {
          alias: m.alias,
          expected: m.expect,
          current,
        },
      );
    }
    const now = this.deps.clock.now();
    if (m.version === null) {
      if (!cur) throw notFound(`alias ${model.name}@${m.alias} is not set`, { alias: m.alias });
      await this.removeIn(tx, actor, now, model, m.alias, cur.version, recorded);
      return undefined;
    }
    await requireVersion(tx, model, m.version);
    if (cur && cur.version === m.version) return view(model, cur);
    if (cur) {
      if (!(await tx.aliases.compareAndSet(model.id, m.alias, cur.version, m.version, actor.name, now)))
        throw await this.raced(tx, model, m.alias, cur.version);
    } else {
      try {
        await tx.aliases.insert({ model_id: model.id, alias: m.alias, version: m.version, frozen: false, updated_by: actor.name, updated_at: now });
      } catch (err) {
        if (err instanceof BerthError && err.code === 'ALREADY_EXISTS') {
          throw conflict(`${m.alias} was set by someone else meanwhile; nothing was changed`, { alias: m.alias, expected: null, current: 'unknown' });
        }
        throw err;
      }
    }
    await recordChange(tx, actor, now, {
      action: 'alias.set',
      subject: { type: 'alias', model, alias: m.alias, from: current, to: m.version },
      reason: recorded,
    });
    return view(model, { model_id: model.id, alias: m.alias, version: m.version, frozen: false, updated_by: actor.name, updated_at: now });
  }

  /**
   * Inside a transaction: deletes an alias that is at `version` and not frozen, and records
   * it; CONFLICT when it moved meanwhile. Deleting a version removes its aliases through here too.
   */
  async removeIn(tx: StoreTx, actor: Actor, now: number, model: ModelRecord, alias: string, version: number, reason: string | null): Promise<void> {
    if (!(await tx.aliases.compareAndDelete(model.id, alias, version))) throw await this.raced(tx, model, alias, version);
    await recordChange(tx, actor, now, { action: 'alias.delete', subject: { type: 'alias', model, alias, from: version, to: null }, reason });
  }

  private async raced(tx: StoreTx, model: ModelRecord, alias: string, expected: number): Promise<BerthError> {
    const now = await tx.aliases.find(model.id, alias);
    return conflict(`${alias} moved meanwhile (now ${now ? `at ${now.version}` : 'not set'}); nothing was changed`, {
      alias,
      expected,
      current: now?.version ?? null,
    });
  }

  async setFrozen(actor: Actor, name: string, alias: string, frozen: boolean, reason?: string | null): Promise<AliasView> {
    requireRole(actor, 'approver', frozen ? 'freezing an alias' : 'unfreezing an alias', name);
    validateModelName(name);
    validateAliasName(alias);
    return this.deps.store.transaction(async (tx) => {
      const model = await requireModel(tx, name);
      const cur = await tx.aliases.find(model.id, alias);
      if (!cur) throw notFound(`alias ${name}@${alias} is not set: set it before freezing it`, { alias });
      if (cur.frozen === frozen) return view(model, cur);
      const now = this.deps.clock.now();
      await tx.aliases.setFrozen(model.id, alias, frozen, actor.name, now);
      await recordChange(tx, actor, now, {
        action: frozen ? 'alias.freeze' : 'alias.unfreeze',
        subject: { type: 'alias', model, alias, from: cur.version, to: cur.version },
        before: { version: cur.version, frozen: cur.frozen },
        after: { version: cur.version, frozen },
        reason: cleanReason(reason),
      });
      return view(model, { ...cur, frozen, updated_by: actor.name, updated_at: now });
    });
  }

  async history(name: string, alias: string, opts: { cursor?: string; limit?: unknown }): Promise<ResultPage<AliasHistoryView>> {
    validateModelName(name);
    validateAliasName(alias);
    const keyset = new Keyset(opts, 'i', Number);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    const page = keyset.page(await tx.aliases.history(model.id, alias, { after: keyset.after, limit: keyset.fetch }), (h) => h.id);
    return { items: page.items.map((h) => ({ ...h, model: model.name })), next_cursor: page.next_cursor };
  }

  /** The model id a name denotes at time `at`: the current holder, else one that had it then. */
  private async modelIdAt(tx: StoreTx, name: string, at: number): Promise<{ id: number; name: string } | undefined> {
    const m = await tx.models.findByName(name);
    if (m) return { id: m.id, name: m.name };
    const ids = await tx.audit.modelIdsNamed(name, at);
    return ids.length ? { id: Math.max(...ids), name } : undefined;
  }

  /** "Which version did name@alias point to at T?": one indexed lookup in alias history. */
  async at(ref: string, t: unknown): Promise<AliasAtTime> {
    const at = parseInstant(t, 't');
    const parsed = parseReference(ref);
    if (parsed.selector.kind !== 'alias') throw invalid(`time travel needs an alias reference such as ${parsed.name}@champion`, { field: 'ref' });
    const tx = this.deps.store.read;
    const model = await this.modelIdAt(tx, parsed.name, at);
    if (!model) throw notFound(`model ${JSON.stringify(parsed.name)} not found`, { model: parsed.name });
    const h = await tx.aliases.historyAt(model.id, parsed.selector.alias, at);
    const version = h && h.action !== 'alias.delete' ? h.to_version : null;
    return { at, ref, version, set_at: h ? h.at : null, set_by: h?.actor ?? null, reason: h?.reason ?? null };
  }

  /** "What did model X look like at T?": its last snapshot then, and its aliases then. */
  async modelAt(name: string, t: unknown): Promise<ModelAtTime> {
    const at = parseInstant(t, 't');
    validateModelName(name);
    const tx = this.deps.store.read;
    const model = await this.modelIdAt(tx, name, at);
    if (!model) throw notFound(`model ${JSON.stringify(name)} not found`, { model: name });
    const [event, aliases] = await Promise.all([tx.audit.lastModelEventAt(model.id, at), tx.aliases.allAt(model.id, at)]);
    const snapshot = event && event.action !== 'model.delete' ? (event.after as Partial<ModelSnapshot>) : null;
    return { at, model: snapshot, aliases: snapshot ? aliases : {} };
  }
}
