import { parseInstant, type AuditEvent } from '@berth/core';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { table, when } from '../output/format.js';

const USAGE = `usage: berth audit [--model M] [--since T] [--until T] [--limit N]    every change, oldest first
       berth audit verify                                                 check the hash chain
T: 2026-03-01, 2026-03-08T14:32:00Z or epoch milliseconds.
verify exits 0 when the chain is intact, 1 naming the first bad seq when it is not.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { model: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' } },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const client = ctx.client();
  if (positionals[0] === 'verify') {
    if (positionals.length !== 1) throw new UsageError('audit verify takes no arguments', USAGE);
    const v = await client.verifyAudit();
    if (ctx.json) ctx.printJson(v);
    else if (v.ok) ctx.print(`audit chain ok: ${v.checked} event(s), head seq ${v.last_seq}`);
    else ctx.io.stderr.write(`audit chain broken at seq ${v.first_bad_seq} (${v.problem}); ${v.checked} event(s) checked\n`);
    return v.ok ? 0 : 1;
  }
  if (positionals.length) throw new UsageError(`unknown audit argument ${JSON.stringify(positionals[0])}`, USAGE);
  const since = values.since ? new Date(parseInstant(values.since, 'since')).toISOString() : undefined;
  const until = values.until ? new Date(parseInstant(values.until, 'until')).toISOString() : undefined;
  const limit = parseCount(values.limit, 'limit', USAGE) ?? Infinity;
  const events: AuditEvent[] = [];
  for await (const e of client.iterAudit({ model: values.model as string | undefined, since, until, pageSize: Math.min(1000, limit) })) {
    events.push(e);
    if (events.length >= limit) break;
  }
  if (ctx.json) return (ctx.printJson(events), 0);
  if (events.length === 0) return (ctx.print('no events'), 0);
  const change = (e: { action: string; before: unknown; after: unknown }) => {
    const b = e.before as { version?: number } | null;
    const a = e.after as { version?: number } | null;
    if (e.action.startsWith('alias.') && ((b && 'version' in b) || (a && 'version' in a))) return `${b?.version ?? '-'} -> ${a?.version ?? '-'}`;
    return '';
  };
  ctx.print(
    table(
      ['SEQ', 'AT', 'ACTOR', 'ACTION', 'SUBJECT', 'CHANGE', 'REASON'],
      events.map((e) => [e.seq, when(e.at), e.actor, e.action, e.subject, change(e), e.reason]),
    ),
  );
  return 0;
}
