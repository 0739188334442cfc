import { parseInstant, parseReference } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { kv, table, when } from '../output/format.js';

const USAGE = `usage: berth at <time> <name@alias>            which version the alias pointed to then
       berth at <time> <name>                  the model (description, tags, aliases) as it was then
       berth at <time> --served <deployment>   which versions the gateways actually served then, and their shares
<time>: 2026-03-08T14:32:00Z, 2026-03-08 (UTC midnight) or epoch milliseconds`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { served: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (values.served !== undefined) {
    if (positionals.length !== 1) throw new UsageError('with --served, give only a time: berth at <time> --served <deployment>', USAGE);
    return served(ctx, new Date(parseInstant(positionals[0], 'time')).toISOString(), values.served as string);
  }
  if (positionals.length !== 2) throw new UsageError('give a time and a reference', USAGE);
  const [time, ref = ''] = positionals;
  const t = new Date(parseInstant(time, 'time')).toISOString();
  const parsed = parseReference(ref);
  const client = ctx.client();
  if (parsed.selector.kind === 'alias') {
    const r = await client.aliasAt(ref, t);
    if (ctx.json) return (ctx.printJson(r), 0);
    if (r.version === null) ctx.print(`${ref} was unset at ${when(r.at)}${r.set_at ? ` (removed ${when(r.set_at)} by ${r.set_by})` : ''}`);
    else ctx.print(`${parsed.name}:${r.version}  (${ref} at ${when(r.at)}; set ${when(r.set_at)} by ${r.set_by}${r.reason ? `: ${r.reason}` : ''})`);
    return 0;
  }
  if (parsed.selector.kind !== 'latest') throw new UsageError('give name@alias, or a bare model name', USAGE);
  const r = await client.modelAt(parsed.name, t);
  if (ctx.json) return (ctx.printJson(r), 0);
  if (!r.model) return (ctx.print(`${parsed.name} did not exist at ${when(r.at)}`), 0);
  ctx.print(
    kv([
      ['model', r.model.name],
      ['at', when(r.at)],
      ['kind', r.model.kind],
      ['description', r.model.description || '-'],
      ['tags', r.model.tags && Object.keys(r.model.tags).length ? r.model.tags : '-'],
      [
        'aliases',
        Object.keys(r.aliases).length
          ? Object.entries(r.aliases)
              .map(([a, v]) => `${a}=${v}`)
              .join(', ')
          : '-',
      ],
    ]),
  );
  return 0;
}

/** What the gateways reported serving in the windows that hold t: each version's share of the requests, then each gateway's window. */
async function served(ctx: Context, t: string, deployment: string): Promise<number> {
  const r = await ctx.client().servedAt(deployment, t);
  if (ctx.json) return (ctx.printJson(r), 0);
  if (r.reports.length === 0) return (ctx.print(`no gateway reported serving ${deployment} at ${when(r.at)}`), 0);
  ctx.print(`${deployment} at ${when(r.at)}, from ${r.reports.length} gateway report(s):`);
  ctx.print(
    table(
      ['VERSION', 'SHARE', 'REQUESTS', 'WEIGHT'],
      r.versions.map((v) => [`${v.version}${v.shadow ? ' (shadow)' : ''}`, `${(v.share * 100).toFixed(1)}%`, v.requests, `${Math.round(v.weight * 10) / 10}%`]),
    ),
  );
  ctx.print(
    table(
      ['GATEWAY', 'FROM', 'TO', 'SERVED'],
      r.reports.map((g) => [
        g.gateway,
        when(g.from),
        when(g.to),
        g.versions.map((v) => `${v.version}${v.shadow ? ' (shadow)' : ''}: ${v.requests} req at ${v.weight}%`).join(', '),
      ]),
    ),
  );
  return 0;
}
