import { parse, parseDuration } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { bytes } from '../output/format.js';

const USAGE = `usage: berth gc [--dry-run] [--grace 24h]
Removes blobs no version references and no open upload lists, untouched for the grace period,
and leftovers of interrupted uploads (temp files) past it; --dry-run reports both and removes nothing.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { 'dry-run': { type: 'boolean', default: false }, grace: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length) throw new UsageError('gc takes no arguments', USAGE);
  const grace = values.grace ? parseDuration(values.grace as string, USAGE) : undefined;
  const r = await ctx.client().gc({ dry_run: values['dry-run'] as boolean, ...(grace !== undefined ? { grace_seconds: grace } : {}) });
  if (ctx.json) return (ctx.printJson(r), 0);
  if (r.dry_run)
    ctx.print(
      `would remove ${r.candidates} blob(s), ${bytes(r.bytes)} and ${r.temp_files} stale temp file(s), ${bytes(r.temp_bytes)} (scanned ${r.scanned}; grace ${r.grace_seconds} s)`,
    );
  else
    ctx.print(
      `removed ${r.removed} blob(s), ${bytes(r.bytes)} (scanned ${r.scanned}; ${r.expired_uploads} expired upload(s), ${r.temp_files_removed} stale temp file(s), ${bytes(r.temp_bytes)})`,
    );
  return 0;
}
