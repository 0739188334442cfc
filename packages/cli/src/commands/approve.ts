import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { outcomeLine } from '../output/promotion.js';

const APPROVE_USAGE = `usage: berth approve <promotion-id> [--reason R]
Approves a pending promotion (approver role). The approval that completes the policy's
require_approvals moves the alias, by compare-and-swap from the version it held when requested.
exit codes: 0 approved (moved, or still pending), 1 not pending or your own promotion,
3 no such promotion, 4 you approved it already, or the alias moved since (the promotion is now stale).`;

const REJECT_USAGE = `usage: berth reject <promotion-id> [--reason R]
Rejects a pending promotion (approver role); the alias does not move.
exit codes: 0 rejected, 1 not pending, 3 no such promotion.`;

async function decide(argv: string[], ctx: Context, approve: boolean): Promise<number> {
  const usage = approve ? APPROVE_USAGE : REJECT_USAGE;
  const { values, positionals } = parse(argv, { reason: { type: 'string' } }, usage);
  if (values.help) return (ctx.print(usage), 0);
  if (positionals.length !== 1) throw new UsageError('give exactly one promotion id (see `berth promotions ls <model> --state pending`)', usage);
  const id = positionals[0] ?? '';
  const reason = values.reason as string | undefined;
  const p = approve ? await ctx.client().approvePromotion(id, reason) : await ctx.client().rejectPromotion(id, reason);
  if (ctx.json) ctx.printJson(p);
  else ctx.print(outcomeLine(p));
  return 0;
}

export const run = (argv: string[], ctx: Context) => decide(argv, ctx, true);
export const reject = (argv: string[], ctx: Context) => decide(argv, ctx, false);
