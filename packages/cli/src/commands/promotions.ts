import type { Promotion } from '@berth/core';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { table, when } from '../output/format.js';
import { promotionDetails } from '../output/promotion.js';

const STATES = ['passed', 'failed', 'pending', 'rejected', 'stale'];

const USAGE = `usage: berth promotions ls <model> [--alias A] [--state S] [--limit N]   newest first
       berth promotions show <id>                                     the stored gate report
S: ${STATES.join(', ')}. Promotions include rollbacks (kind rollback) and refusals (state failed).
exit codes: 0 ok, 2 usage, 3 not found.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { alias: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, arg] = positionals;
  switch (sub) {
    case 'ls': {
      if (positionals.length !== 2) throw new UsageError('promotions ls takes one model name', USAGE);
      const state = values.state as string | undefined;
      if (state !== undefined && !STATES.includes(state))
        throw new UsageError(`--state must be one of ${STATES.join(', ')}, not ${JSON.stringify(state)}`, USAGE);
      const limit = parseCount(values.limit, 'limit', USAGE) ?? Infinity;
      const items: Promotion[] = [];
      for await (const p of ctx.client().iterPromotions(arg ?? '', { alias: values.alias as string | undefined, state, pageSize: Math.min(1000, limit) })) {
        items.push(p);
        if (items.length >= limit) break;
      }
      if (ctx.json) return (ctx.printJson(items), 0);
      if (items.length === 0) return (ctx.print(`no promotions of ${arg}`), 0);
      ctx.print(
        table(
          ['ID', 'CREATED', 'KIND', 'VERSION', 'ALIAS', 'FROM', 'STATE', 'POLICY', 'APPROVALS', 'BY'],
          items.map((p) => [
            p.id,
            when(p.created_at),
            p.kind,
            p.version,
            p.alias,
            p.previous_version,
            p.state,
            p.policy ? `${p.policy.name} v${p.policy.version}` : '',
            p.required_approvals ? `${p.approvals.length}/${p.required_approvals}` : '',
            p.requested_by,
          ]),
        ),
      );
      return 0;
    }
    case 'show': {
      if (positionals.length !== 2) throw new UsageError('promotions show takes one promotion id', USAGE);
      const p = await ctx.client().getPromotion(arg ?? '');
      if (ctx.json) ctx.printJson(p);
      else ctx.print(promotionDetails(p));
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown promotions command ${JSON.stringify(sub)}` : 'give a promotions command: ls or show', USAGE);
  }
}
