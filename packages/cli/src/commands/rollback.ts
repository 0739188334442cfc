import { BerthError } from '@berth/core';
import { parse, parseVersionNumber } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { outcomeLine } from '../output/promotion.js';
import { conflictMessage } from './alias.js';

const USAGE = `usage: berth rollback <model> <alias> --reason R [--expect N]
Moves the alias back to the version it held before its current holder (from the alias history),
recorded as a promotion of kind rollback with your reason (approver role). No gates: that
version already served. --expect N: only if the alias still holds N.
exit codes: 0 rolled back, 1 no previous holder, 2 usage, 3 not found, 4 the alias does not hold --expect.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { reason: { type: 'string' }, expect: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 2) throw new UsageError('give the model and the alias to roll back', USAGE);
  const reason = (values.reason as string | undefined)?.trim();
  if (!reason) throw new UsageError('--reason is required: say why the alias goes back (it is kept in the audit trail)', USAGE);
  const expect = values.expect === undefined ? undefined : parseVersionNumber(values.expect as string, '--expect', USAGE);
  const [model = '', alias = ''] = positionals;
  try {
    const p = await ctx.client().rollback(model, alias, reason, { expect });
    if (ctx.json) ctx.printJson(p);
    else ctx.print(outcomeLine(p));
    return 0;
  } catch (err) {
    if (err instanceof BerthError && err.code === 'CONFLICT') throw new BerthError('CONFLICT', conflictMessage(err), err.details);
    throw err;
  }
}
