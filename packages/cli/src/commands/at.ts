import { parseInstant, parseReference } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { kv, when } from '../output/format.js';

const USAGE = `usage: berth at <time> <name@alias>     which version the alias pointed to then
       berth at <time> <name>           the model (description, tags, aliases) as it was then
<time>: 2026-03-08T14:32:00Z, 2026-03-08 (UTC midnight) or epoch milliseconds`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, {}, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
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
