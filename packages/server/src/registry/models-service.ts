import {
  BerthError,
  MAX_DESCRIPTION_CHARS,
  invalid,
  notFound,
  validateAliasName,
  validateKind,
  validateModelName,
  validateTags,
  type CreateModelBody,
  type UpdateModelBody,
} from '@berth/core';
import type { StoreTx } from '../store/store.js';
import type { ModelRecord, ModelStats } from '../store/models.js';
import type { AliasRecord } from '../store/aliases.js';
import { requireRole, type Actor } from './actor.js';
import { refuseGuardedAliases, requireModel, type DeleteOptions, type RegistryDeps } from './deps.js';
import { recordChange } from './changes.js';
import { Keyset } from './paging.js';
import type { ModelSnapshot, ModelView, ResultPage } from './results.js';

export function validateDescription(d: unknown): string {
  if (typeof d !== 'string' || d.length > MAX_DESCRIPTION_CHARS)
    throw invalid(`description must be a string of at most ${MAX_DESCRIPTION_CHARS} characters`, { field: 'description' });
  return d;
}

function validateProtected(list: unknown): string[] {
  if (!Array.isArray(list)) throw invalid('protected_aliases must be a list of alias names', { field: 'protected_aliases' });
  return [...new Set(list.map((a) => validateAliasName(a)))].sort();
}

/** The part of a model the audit trail snapshots (what "model at T" returns). */
function modelSnapshot(m: ModelRecord): ModelSnapshot {
  return { name: m.name, kind: m.kind, description: m.description, tags: m.tags, protected_aliases: m.protected_aliases };
}

export function view(m: ModelRecord, stats: ModelStats | undefined, aliases: readonly AliasRecord[]): ModelView {
  const map: Record<string, number> = {};
  for (const a of aliases) map[a.alias] = a.version;
  const frozen = aliases.filter((a) => a.frozen).map((a) => a.alias);
  return { ...m, latest_version: stats?.latest_version ?? null, version_count: stats?.version_count ?? 0, aliases: map, frozen_aliases: frozen };
}

export class ModelService {
  constructor(private readonly deps: RegistryDeps) {}

  /** Inside a transaction: creates the model and its audit event. */
  async createIn(tx: StoreTx, actor: Actor, input: CreateModelBody): Promise<ModelRecord> {
    const name = validateModelName(input.name);
    const kind = validateKind(input.kind ?? 'model');
    const description = validateDescription(input.description ?? '');
    const tags = validateTags(input.tags ?? {});
    const protectedAliases = input.protected_aliases ? validateProtected(input.protected_aliases) : [...this.deps.config.defaultProtectedAliases];
    const now = this.deps.clock.now();
    if (await tx.models.findByName(name)) throw new BerthError('ALREADY_EXISTS', `model ${JSON.stringify(name)} already exists`, { model: name });
    const m = await tx.models.insert({ name, kind, description, tags, protected_aliases: protectedAliases, created_at: now, updated_at: now });
    await recordChange(tx, actor, now, { action: 'model.create', subject: { type: 'model', model: m }, after: modelSnapshot(m) });
    return m;
  }

  async create(actor: Actor, input: CreateModelBody): Promise<ModelView> {
    requireRole(actor, 'editor', 'creating a model', input.name);
    const m = await this.deps.store.transaction((tx) => this.createIn(tx, actor, input));
    return this.view(this.deps.store.read, m);
  }

  private async view(tx: StoreTx, m: ModelRecord): Promise<ModelView> {
    const [stats, aliases] = await Promise.all([tx.models.stats([m.id]), tx.aliases.listForModel(m.id)]);
    return view(m, stats.get(m.id), aliases);
  }

  async get(name: string): Promise<ModelView> {
    const tx = this.deps.store.read;
    return this.view(tx, await requireModel(tx, validateModelName(name)));
  }

  async list(opts: { cursor?: string; limit?: unknown; kind?: string; prefix?: string }): Promise<ResultPage<ModelView>> {
    const keyset = new Keyset(opts, 'n', String);
    const kind = opts.kind ? validateKind(opts.kind) : undefined;
    const tx = this.deps.store.read;
    const page = keyset.page(await tx.models.list({ after: keyset.after, limit: keyset.fetch, kind, prefix: opts.prefix }), (m) => m.name);
    const ids = page.items.map((m) => m.id);
    const [stats, aliases] = await Promise.all([tx.models.stats(ids), tx.aliases.groupForModels(ids)]);
    return { items: page.items.map((m) => view(m, stats.get(m.id), aliases.get(m.id) ?? [])), next_cursor: page.next_cursor };
  }

  async update(actor: Actor, name: string, input: UpdateModelBody): Promise<ModelView> {
    requireRole(actor, 'editor', 'editing a model', name);
    validateModelName(name);
    const patch: { name?: string; description?: string; tags?: Record<string, string>; protected_aliases?: string[] } = {};
    if (input.description !== undefined) patch.description = validateDescription(input.description);
    if (input.new_name !== undefined) {
      patch.name = validateModelName(input.new_name);
      // A scoped token must not rename a model out of (or into) its patterns.
      requireRole(actor, 'editor', 'renaming a model', patch.name);
    }
    if (input.protected_aliases !== undefined) {
      requireRole(actor, 'admin', 'changing which aliases are protected', name);
      patch.protected_aliases = validateProtected(input.protected_aliases);
    }
    if (input.tags) validateTags(input.tags);
    if (input.untag && (!Array.isArray(input.untag) || input.untag.some((k) => typeof k !== 'string')))
      throw invalid('untag must be a list of tag keys', { field: 'untag' });
    const m = await this.deps.store.transaction(async (tx) => {
      const before = await tx.models.lockByName(name);
      if (!before) throw notFound(`model ${JSON.stringify(name)} not found: list models with \`berth ls\``, { model: name });
      if (input.tags || input.untag) {
        const tags = { ...before.tags, ...(input.tags ?? {}) };
        for (const k of input.untag ?? []) delete tags[k];
        patch.tags = tags;
      }
      if (patch.name !== undefined && patch.name !== before.name && (await tx.models.findByName(patch.name))) {
        throw new BerthError('ALREADY_EXISTS', `cannot rename ${name} to ${patch.name}: that name is taken`, { model: patch.name });
      }
      const now = this.deps.clock.now();
      const after = await tx.models.update(before.id, patch, now);
      const action = patch.name !== undefined && patch.name !== before.name ? 'model.rename' : 'model.update';
      await recordChange(tx, actor, now, { action, subject: { type: 'model', model: after }, before: modelSnapshot(before), after: modelSnapshot(after) });
      return after;
    });
    return this.view(this.deps.store.read, m);
  }

  /**
   * With `force`, an admin deletes the model with its versions and aliases; with
   * `dropOrdinaryAliases` too (MLflow), a protected or frozen alias still refuses (DeleteOptions).
   */
  async delete(actor: Actor, name: string, opts: DeleteOptions = {}): Promise<void> {
    requireRole(actor, 'editor', 'deleting a model', name);
    validateModelName(name);
    await this.deps.store.transaction(async (tx) => {
      const m = await requireModel(tx, name);
      const count = await tx.versions.count(m.id);
      if (count > 0 && !opts.force) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `model ${name} still has ${count} version(s): delete them first, or pass --force as an admin to delete the model with all its versions and aliases`,
          {
            model: name,
            versions: count,
          },
        );
      }
      if (count > 0) requireRole(actor, 'admin', 'deleting a model with its versions', name);
      const pinned = (await tx.versions.dependents(m.id)).filter((d) => d.model !== m.name);
      if (pinned.length > 0) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `model ${name} cannot be deleted: ${pinned.map((d) => `${d.model}:${d.version}`).join(', ')} pin its versions`,
          { model: name, referenced_by: pinned },
        );
      }
      const aliases = await tx.aliases.listForModel(m.id);
      if (opts.dropOrdinaryAliases) refuseGuardedAliases(`model ${name}`, m, aliases);
      const now = this.deps.clock.now();
      // Otherwise frozen aliases go too: deleting the model is the admin's decision about all of them.
      await tx.aliases.deleteAllOfModel(m.id);
      for (const a of aliases) {
        await recordChange(tx, actor, now, {
          action: 'alias.delete',
          subject: { type: 'alias', model: m, alias: a.alias, from: a.version, to: null },
          reason: 'model deleted',
        });
      }
      await tx.versions.deleteAllOfModel(m.id);
      await tx.models.delete(m.id);
      await recordChange(tx, actor, now, { action: 'model.delete', subject: { type: 'model', model: m }, before: modelSnapshot(m) });
    });
  }
}
