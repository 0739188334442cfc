import { parse, parseNameVersion, parsePairs } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth update <name:version> [--description D] [--metadata k=v ...] [--unset-metadata k ...] [--tag k=v ...] [--untag k ...]
       berth update <name> [--description D] [--tag k=v ...] [--untag k ...]
Edits what may change after registration; files never do. Every edit is audited.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      description: { type: 'string' },
      metadata: { type: 'string', multiple: true },
      'unset-metadata': { type: 'string', multiple: true },
      tag: { type: 'string', multiple: true },
      untag: { type: 'string', multiple: true },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give one model or name:version', USAGE);
  const { name, version } = parseNameVersion(positionals[0], USAGE);
  const tags = values.tag ? (parsePairs(values.tag as string[], 'tag', USAGE, false) as Record<string, string>) : undefined;
  const untag = values.untag as string[] | undefined;
  const description = values.description as string | undefined;
  const client = ctx.client();
  if (version === undefined) {
    if (values.metadata || values['unset-metadata']) throw new UsageError('metadata belongs to versions: give name:version', USAGE);
    if (description === undefined && !tags && !untag) throw new UsageError('nothing to change: give --description, --tag or --untag', USAGE);
    const m = await client.updateModel(name, { description, tags, untag });
    if (ctx.json) ctx.printJson(m);
    else ctx.print(`${m.name} updated`);
    return 0;
  }
  const metadata: Record<string, unknown> = parsePairs(values.metadata as string[] | undefined, 'metadata', USAGE, true);
  for (const k of (values['unset-metadata'] as string[] | undefined) ?? []) metadata[k] = null;
  const hasMetadata = Object.keys(metadata).length > 0;
  if (description === undefined && !tags && !untag && !hasMetadata)
    throw new UsageError('nothing to change: give --description, --metadata, --unset-metadata, --tag or --untag', USAGE);
  const v = await client.updateVersion(name, version, { description, tags, untag, ...(hasMetadata ? { metadata } : {}) });
  if (ctx.json) ctx.printJson(v);
  else ctx.print(`${v.model}:${v.version} updated`);
  return 0;
}
