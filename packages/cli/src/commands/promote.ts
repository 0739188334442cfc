import { BerthError, formatGateReport, type GateReport } from '@berth/core';
import { parse, parseExpect } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { outcomeLine } from '../output/promotion.js';
import { conflictMessage } from './alias.js';

const USAGE = `usage: berth promote <ref> [--to ALIAS] [--policy NAME] [--expect N|none] [--reason R]
Asks the server to move ALIAS to the version <ref> names (name:12, name@challenger) under a
policy. The server evaluates the policy's gates on the recorded evaluations, stores the report
with the promotion, and moves the alias only when every gate passes (and the policy's required
approvals are in). --to defaults to the policy's target_alias; --policy to the policy bound to
the alias; give at least one. --expect makes the move a compare-and-swap on what ALIAS holds.
exit codes: 0 moved, or pending approvals (the promotion id and the approvals missing are printed);
1 a gate failed (the alias did not move; the refusal is stored); 2 usage; 3 not found;
4 the alias does not hold --expect, or another promotion moved it meanwhile.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { to: { type: 'string' }, policy: { type: 'string' }, expect: { type: 'string' }, reason: { type: 'string' } },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give exactly one version reference to promote (name:12 or name@alias)', USAGE);
  const alias = values.to as string | undefined;
  const policy = values.policy as string | undefined;
  if (!alias && !policy) throw new UsageError('give --to ALIAS (with a policy bound to it) or --policy NAME (or both)', USAGE);
  const expect = parseExpect(values.expect as string | undefined, USAGE);
  const client = ctx.client();
  const v = await client.resolve(positionals[0] ?? '');
  try {
    const p = await client.promote(v.model, {
      version: v.version,
      ...(alias ? { alias } : {}),
      ...(policy ? { policy } : {}),
      ...(expect !== undefined ? { expect } : {}),
      ...(values.reason ? { reason: values.reason as string } : {}),
    });
    if (ctx.json) return (ctx.printJson(p), 0);
    if (p.report) ctx.print(formatGateReport(p.report).join('\n'));
    ctx.print(outcomeLine(p));
    return 0;
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    if (err.code === 'CONFLICT') throw new BerthError('CONFLICT', conflictMessage(err), err.details);
    const d = err.details as { promotion?: string; report?: GateReport };
    if (err.code !== 'FAILED_PRECONDITION' || !d.report) throw err;
    // Refused by its gates: the report is the answer, on stdout like a pass; the verdict on stderr.
    if (ctx.json) ctx.printJson(err.toJSON());
    else ctx.print(formatGateReport(d.report).join('\n'));
    const failed = d.report.gates.filter((g) => !g.passed).length;
    // Without --to the alias is the policy's target: the stored refusal names it.
    const target = alias ?? (d.promotion ? (await client.getPromotion(d.promotion).catch(() => undefined))?.alias : undefined) ?? 'the alias';
    ctx.io.stderr.write(
      `error: promotion ${d.promotion ?? ''} refused: ${failed} of ${d.report.gates.length} gate(s) failed; ${v.model}@${target} did not move\n`,
    );
    return 1;
  }
}
