import type { Kysely, Selectable } from 'kysely';
import { BerthError, type DeploymentDocument, type RolloutKind, type RolloutState, type ServedVersion, type ShadowReport } from '@berth/core';
import type { Database, DeploymentRolloutsTable, DeploymentServedTable, DeploymentsTable } from './schema.js';
import { nullableNumber, parseJson, toJson } from './json.js';
import { uniquely } from './errors.js';

export interface DeploymentRecord {
  name: string;
  version: number;
  digest: string;
  model_id: number;
  /** The model's name when this version was applied (the document's `model:`). */
  model: string;
  document: DeploymentDocument;
  yaml: string;
  created_by: string;
  created_at: number;
}

/** A decision as the rollout keeps it; `at` in epoch milliseconds. */
export interface RolloutDecisionRecord {
  decision: string;
  at: number;
  gateway: string;
  reason: string | null;
  evidence: Record<string, unknown>;
}

export interface RolloutRecord {
  id: string;
  deployment: string;
  kind: RolloutKind;
  stable_version: number | null;
  candidate_version: number;
  state: RolloutState;
  step: number;
  weight: number;
  started_at: number;
  step_started_at: number;
  updated_at: number;
  last_decision: RolloutDecisionRecord | null;
}

export interface ServedRecord {
  deployment: string;
  gateway: string;
  from: number;
  to: number;
  versions: ServedVersion[];
  shadow: ShadowReport | null;
  /** The served mix in canonical text (versions with rounded weights and shadow flags). */
  mix: string;
  received_at: number;
}

function toDeployment(row: Selectable<DeploymentsTable>): DeploymentRecord {
  return {
    name: row.name,
    version: Number(row.version),
    digest: row.digest,
    model_id: Number(row.model_id),
    model: row.model,
    document: parseJson(row.document, {} as DeploymentDocument),
    yaml: row.yaml,
    created_by: row.created_by,
    created_at: Number(row.created_at),
  };
}

function toRollout(row: Selectable<DeploymentRolloutsTable>): RolloutRecord {
  return {
    id: row.id,
    deployment: row.deployment,
    kind: row.kind as RolloutKind,
    stable_version: nullableNumber(row.stable_version),
    candidate_version: Number(row.candidate_version),
    state: row.state as RolloutState,
    step: Number(row.step),
    weight: Number(row.weight),
    started_at: Number(row.started_at),
    step_started_at: Number(row.step_started_at),
    updated_at: Number(row.updated_at),
    last_decision: parseJson<RolloutDecisionRecord | null>(row.last_decision, null),
  };
}

function toServed(row: Selectable<DeploymentServedTable>): ServedRecord {
  return {
    deployment: row.deployment,
    gateway: row.gateway,
    from: Number(row.from_at),
    to: Number(row.to_at),
    versions: parseJson<ServedVersion[]>(row.versions, []),
    shadow: parseJson<ShadowReport | null>(row.shadow, null),
    mix: row.mix,
    received_at: Number(row.received_at),
  };
}

function rolloutRow(r: RolloutRecord): Selectable<DeploymentRolloutsTable> {
  return {
    deployment: r.deployment,
    id: r.id,
    kind: r.kind,
    stable_version: r.stable_version,
    candidate_version: r.candidate_version,
    state: r.state,
    step: r.step,
    weight: r.weight,
    started_at: r.started_at,
    step_started_at: r.step_started_at,
    updated_at: r.updated_at,
    last_decision: r.last_decision === null ? null : toJson(r.last_decision),
  };
}

/** Most report rows one "served at T" read looks at: windows are short, so the first rows ending after T are the ones holding it. */
const SERVED_SCAN = 1000;

/** Versioned deployments, their current rollouts and the gateways' served reports (migration 0012). */
export class DeploymentRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async latest(name: string): Promise<DeploymentRecord | undefined> {
    const row = await this.db.selectFrom('deployments').selectAll().where('name', '=', name).where('latest', '=', 1).executeTakeFirst();
    return row && toDeployment(row);
  }

  /** A version of a deployment, live or deleted since. */
  async find(name: string, version: number): Promise<DeploymentRecord | undefined> {
    const row = await this.db.selectFrom('deployments').selectAll().where('name', '=', name).where('version', '=', version).executeTakeFirst();
    return row && toDeployment(row);
  }

  /** The highest version a name ever had (0: never applied); versions are never reused, even after a delete. */
  async lastVersion(name: string): Promise<number> {
    const row = await this.db
      .selectFrom('deployments')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.v == null ? 0 : Number(row.v);
  }

  /** The newest version of each live deployment, by name; `after` is the last name of the previous page. */
  async listLatest(opts: { after?: string; limit: number }): Promise<DeploymentRecord[]> {
    let q = this.db.selectFrom('deployments').selectAll().where('latest', '=', 1).orderBy('name').limit(opts.limit);
    if (opts.after !== undefined) q = q.where('name', '>', opts.after);
    return (await q.execute()).map(toDeployment);
  }

  /** The newest version of each live deployment of a model (index deployments_model). */
  async liveOfModel(modelId: number): Promise<DeploymentRecord[]> {
    const rows = await this.db.selectFrom('deployments').selectAll().where('model_id', '=', modelId).where('latest', '=', 1).orderBy('name').execute();
    return rows.map(toDeployment);
  }

  /** Adds the next version and makes it the latest; a concurrent apply of the same name loses on the unique constraint. */
  async insertLatest(d: DeploymentRecord): Promise<void> {
    await this.db.updateTable('deployments').set({ latest: 0 }).where('name', '=', d.name).where('latest', '=', 1).execute();
    await uniquely(
      this.db
        .insertInto('deployments')
        .values({
          name: d.name,
          version: d.version,
          digest: d.digest,
          model_id: d.model_id,
          model: d.model,
          document: toJson(d.document),
          yaml: d.yaml,
          latest: 1,
          created_by: d.created_by,
          created_at: d.created_at,
        })
        .execute(),
      () => new BerthError('CONFLICT', `deployment ${d.name} was applied by someone else meanwhile; apply it again`, { deployment: d.name }),
    );
  }

  /** Retires every version of a deployment (kept for time travel) and drops its rollout; false when it was not live. */
  async retire(name: string): Promise<boolean> {
    const r = await this.db.updateTable('deployments').set({ latest: 0 }).where('name', '=', name).where('latest', '=', 1).executeTakeFirst();
    await this.db.deleteFrom('deployment_rollouts').where('deployment', '=', name).execute();
    return Number(r.numUpdatedRows) > 0;
  }

  // ---- rollouts

  async rollout(deployment: string): Promise<RolloutRecord | undefined> {
    const row = await this.db.selectFrom('deployment_rollouts').selectAll().where('deployment', '=', deployment).executeTakeFirst();
    return row && toRollout(row);
  }

  /** Makes `r` the deployment's first rollout; a concurrent first start loses on the primary key. */
  async insertRollout(r: RolloutRecord): Promise<void> {
    await uniquely(
      this.db.insertInto('deployment_rollouts').values(rolloutRow(r)).execute(),
      () =>
        new BerthError('CONFLICT', `a rollout of deployment ${r.deployment} was started by someone else meanwhile; read it again`, {
          deployment: r.deployment,
        }),
    );
  }

  /**
   * Compare-and-swap: replaces the deployment's rollout with `next` only while it is still the
   * rollout `expected` (same id, step and state). False when another decision came first.
   */
  async swapRollout(expected: Pick<RolloutRecord, 'deployment' | 'id' | 'step' | 'state'>, next: RolloutRecord): Promise<boolean> {
    const { deployment: _key, ...values } = rolloutRow(next);
    const r = await this.db
      .updateTable('deployment_rollouts')
      .set(values)
      .where('deployment', '=', expected.deployment)
      .where('id', '=', expected.id)
      .where('step', '=', expected.step)
      .where('state', '=', expected.state)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async dropRollout(deployment: string): Promise<void> {
    await this.db.deleteFrom('deployment_rollouts').where('deployment', '=', deployment).execute();
  }

  // ---- served reports

  async insertServed(s: ServedRecord): Promise<void> {
    await this.db
      .insertInto('deployment_served')
      .values({
        deployment: s.deployment,
        gateway: s.gateway,
        from_at: s.from,
        to_at: s.to,
        versions: toJson(s.versions),
        shadow: s.shadow === null ? null : toJson(s.shadow),
        mix: s.mix,
        received_at: s.received_at,
      })
      .execute();
  }

  /** The gateway's report whose window ended last before `to` (the one a new report's mix is compared with). */
  async servedBefore(deployment: string, gateway: string, to: number): Promise<ServedRecord | undefined> {
    const row = await this.db
      .selectFrom('deployment_served')
      .selectAll()
      .where('deployment', '=', deployment)
      .where('gateway', '=', gateway)
      .where('to_at', '<', to)
      .orderBy('to_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toServed(row);
  }

  /** The reports whose window [from, to) holds `at`, oldest end first. */
  async servedAt(deployment: string, at: number): Promise<ServedRecord[]> {
    const rows = await this.db
      .selectFrom('deployment_served')
      .selectAll()
      .where('deployment', '=', deployment)
      .where('to_at', '>', at)
      .orderBy('to_at')
      .orderBy('id')
      .limit(SERVED_SCAN)
      .execute();
    return rows.map(toServed).filter((s) => s.from <= at);
  }

  /** The reports whose window ended at or after `since`, newest end first. */
  async servedSince(deployment: string, since: number): Promise<ServedRecord[]> {
    const rows = await this.db
      .selectFrom('deployment_served')
      .selectAll()
      .where('deployment', '=', deployment)
      .where('to_at', '>=', since)
      .orderBy('to_at', 'desc')
      .orderBy('id', 'desc')
      .limit(SERVED_SCAN)
      .execute();
    return rows.map(toServed);
  }

  /**
   * The reports whose window ended in [since, until], newest end first, after the keyset
   * position `after` (a window end and row id: several gateways end windows at the same ms).
   */
  async listServed(
    deployment: string,
    q: { since: number | null; until: number | null; after: { to: number; id: number } | undefined; limit: number },
  ): Promise<Array<ServedRecord & { id: number }>> {
    let query = this.db.selectFrom('deployment_served').selectAll().where('deployment', '=', deployment);
    if (q.since !== null) query = query.where('to_at', '>=', q.since);
    if (q.until !== null) query = query.where('to_at', '<=', q.until);
    const after = q.after;
    if (after) query = query.where((eb) => eb.or([eb('to_at', '<', after.to), eb.and([eb('to_at', '=', after.to), eb('id', '<', after.id)])]));
    const rows = await query.orderBy('to_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map((row) => ({ ...toServed(row), id: Number(row.id) }));
  }
}
