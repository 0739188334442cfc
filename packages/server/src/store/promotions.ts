import type { Kysely, Selectable } from 'kysely';
import { BerthError, type GateReport, type PromotionKind, type PromotionState } from '@berth/core';
import type { Database, PromotionsTable } from './schema.js';
import { nullableNumber, parseJson, toJson } from './json.js';
import { uniquely } from './errors.js';
import type { SqlDialect } from './dialects/sql-dialect.js';

export interface ApprovalRecord {
  by: string;
  at: number;
  reason: string | null;
}

export interface PromotionRecord {
  id: string;
  model_id: number;
  version: number;
  alias: string;
  kind: PromotionKind;
  state: PromotionState;
  previous_version: number | null;
  policy: { name: string; version: number; digest: string } | null;
  report: GateReport | null;
  required_approvals: number;
  requested_by: string;
  reason: string | null;
  created_at: number;
  decided_at: number | null;
}

function toPromotion(row: Selectable<PromotionsTable>): PromotionRecord {
  return {
    id: row.id,
    model_id: Number(row.model_id),
    version: Number(row.version),
    alias: row.alias,
    kind: row.kind as PromotionKind,
    state: row.state as PromotionState,
    previous_version: nullableNumber(row.previous_version),
    policy: row.policy_name === null ? null : { name: row.policy_name, version: Number(row.policy_version), digest: row.policy_digest ?? '' },
    report: parseJson<GateReport | null>(row.report, null),
    required_approvals: Number(row.required_approvals),
    requested_by: row.requested_by,
    reason: row.reason,
    created_at: Number(row.created_at),
    decided_at: nullableNumber(row.decided_at),
  };
}

/** Promotions and their approvals (migration 0006). */
export class PromotionRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async insert(p: PromotionRecord): Promise<void> {
    await this.db
      .insertInto('promotions')
      .values({
        id: p.id,
        model_id: p.model_id,
        version: p.version,
        alias: p.alias,
        kind: p.kind,
        state: p.state,
        previous_version: p.previous_version,
        policy_name: p.policy?.name ?? null,
        policy_version: p.policy?.version ?? null,
        policy_digest: p.policy?.digest ?? null,
        report: p.report === null ? null : toJson(p.report),
        required_approvals: p.required_approvals,
        requested_by: p.requested_by,
        reason: p.reason,
        created_at: p.created_at,
        decided_at: p.decided_at,
      })
      .execute();
  }

  async find(id: string): Promise<PromotionRecord | undefined> {
    const row = await this.db.selectFrom('promotions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toPromotion(row);
  }

  /**
   * Reads a promotion and holds its row until commit (PostgreSQL), so concurrent approvals of
   * one promotion run one after the other and the last one sees every approval before it.
   */
  async lock(id: string): Promise<PromotionRecord | undefined> {
    const row = await this.dialect.lockRows(this.db.selectFrom('promotions').selectAll().where('id', '=', id)).executeTakeFirst();
    return row && toPromotion(row);
  }

  /** Moves a promotion out of `from`; false when another request decided it first. */
  async decide(id: string, from: PromotionState, to: PromotionState, at: number): Promise<boolean> {
    const r = await this.db.updateTable('promotions').set({ state: to, decided_at: at }).where('id', '=', id).where('state', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A model's promotions newest first (index promotions_model_newest); `before` is the last item of the previous page. */
  async listForModel(
    modelId: number,
    opts: { alias?: string; state?: string; before?: { created_at: number; id: string }; limit: number },
  ): Promise<PromotionRecord[]> {
    let q = this.db.selectFrom('promotions').selectAll().where('model_id', '=', modelId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit);
    if (opts.alias !== undefined) q = q.where('alias', '=', opts.alias);
    if (opts.state !== undefined) q = q.where('state', '=', opts.state);
    const before = opts.before;
    if (before !== undefined) {
      q = q.where((eb) => eb.or([eb('created_at', '<', before.created_at), eb.and([eb('created_at', '=', before.created_at), eb('id', '<', before.id)])]));
    }
    return (await q.execute()).map(toPromotion);
  }

  /**
   * Promotions of every model newest first, with their model's name (the Promotions page's
   * pending approvals and history): read in the order of `promotions_newest`, or of
   * `promotions_state_newest` for one state (migration 0014); `before` is the last item of the
   * previous page.
   */
  async listAll(opts: {
    alias?: string;
    state?: string;
    before?: { created_at: number; id: string };
    limit: number;
  }): Promise<Array<PromotionRecord & { model: string }>> {
    let q = this.db
      .selectFrom('promotions')
      .innerJoin('models', 'models.id', 'promotions.model_id')
      .selectAll('promotions')
      .select('models.name as model_name')
      .orderBy('promotions.created_at', 'desc')
      .orderBy('promotions.id', 'desc')
      .limit(opts.limit);
    if (opts.alias !== undefined) q = q.where('promotions.alias', '=', opts.alias);
    if (opts.state !== undefined) q = q.where('promotions.state', '=', opts.state);
    const before = opts.before;
    if (before !== undefined) {
      q = q.where((eb) =>
        eb.or([
          eb('promotions.created_at', '<', before.created_at),
          eb.and([eb('promotions.created_at', '=', before.created_at), eb('promotions.id', '<', before.id)]),
        ]),
      );
    }
    return (await q.execute()).map(({ model_name, ...row }) => ({ ...toPromotion(row), model: model_name }));
  }

  async approvals(id: string): Promise<ApprovalRecord[]> {
    const rows = await this.db
      .selectFrom('approvals')
      .select(['approver', 'at', 'reason'])
      .where('promotion_id', '=', id)
      .orderBy('at')
      .orderBy('approver')
      .execute();
    return rows.map((r) => ({ by: r.approver, at: Number(r.at), reason: r.reason }));
  }

  /** Approvals of several promotions at once, by promotion id. */
  async approvalsOf(ids: readonly string[]): Promise<Map<string, ApprovalRecord[]>> {
    const out = new Map<string, ApprovalRecord[]>();
    if (ids.length === 0) return out;
    const rows = await this.db.selectFrom('approvals').selectAll().where('promotion_id', 'in', ids).orderBy('at').orderBy('approver').execute();
    for (const r of rows) {
      const list = out.get(r.promotion_id) ?? [];
      list.push({ by: r.approver, at: Number(r.at), reason: r.reason });
      out.set(r.promotion_id, list);
    }
    return out;
  }

  /** ALREADY_EXISTS when this approver already approved it (the primary key decides, races included). */
  async approve(id: string, a: ApprovalRecord): Promise<void> {
    await uniquely(
      this.db.insertInto('approvals').values({ promotion_id: id, approver: a.by, at: a.at, reason: a.reason }).execute(),
      () =>
        new BerthError('ALREADY_EXISTS', `${a.by} already approved promotion ${id}: approvals must come from distinct approvers`, {
          promotion: id,
          approver: a.by,
        }),
    );
  }
}
