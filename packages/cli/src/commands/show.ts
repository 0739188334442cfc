import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { bytes, kv, table, when } from '../output/format.js';

const USAGE = `usage: berth show <ref>
Shows one version with its files, metadata, tags, aliases and lineage.
<ref>: name (latest), name:3, name@alias, name@sha256:…, models:/name/3`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, {}, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give exactly one reference', USAGE);
  const [ref = ''] = positionals;
  const v = await ctx.client().resolve(ref);
  if (ctx.json) return (ctx.printJson(v), 0);
  ctx.print(
    kv([
      ['version', `${v.model}:${v.version}`],
      ['digest', v.digest],
      ['status', v.status],
      ['aliases', v.aliases.length ? v.aliases.join(', ') : '-'],
      ['size', `${bytes(v.size)} in ${v.file_count} file(s)`],
      ['description', v.description || '-'],
      ['created', `${when(v.created_at)} by ${v.created_by}`],
      ['updated', when(v.updated_at)],
      ['source', v.source ?? '-'],
      ['run', v.run_id ?? '-'],
      ['dependencies', v.dependencies.length ? v.dependencies.map((d) => `${d.model}:${d.version} ${d.digest}`).join(', ') : '-'],
      [
        'tags',
        Object.keys(v.tags).length
          ? Object.entries(v.tags)
              .map(([k, x]) => `${k}=${x}`)
              .join(', ')
          : '-',
      ],
      ['metadata', Object.keys(v.metadata).length ? v.metadata : '-'],
    ]),
  );
  if (v.files?.length)
    ctx.print(
      `\n${table(
        ['PATH', 'SIZE', 'SHA256'],
        v.files.map((f) => [f.path, bytes(f.size), f.sha256]),
      )}`,
    );
  return 0;
}
