import { parse, parsePairs } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth bundle create NAME --base MODEL:N [--adapter ADAPTER:N ...] [--prompt PROMPT:N] [--rag RAG:N]
                           [--params k=v ...] [--description D] [--tag k=v ...]
       berth bundle create NAME --from BUNDLE:N [--base …] [--adapter …] [--prompt …] [--rag …] [--params …]
Registers a bundle version: each component pinned by version and digest (name:N or name@sha256:…;
an alias or a bare name is refused), written into berth-bundle.json with every file's digest.
No weight bytes are uploaded. --from starts from a bundle and replaces only what is given
(--adapter replaces all adapters; --params are merged over the old ones).`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      from: { type: 'string' },
      base: { type: 'string' },
      adapter: { type: 'string', multiple: true },
      prompt: { type: 'string' },
      rag: { type: 'string' },
      params: { type: 'string', multiple: true },
      description: { type: 'string' },
      tag: { type: 'string', multiple: true },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, name, ...extra] = positionals;
  if (sub !== 'create') throw new UsageError(sub === undefined ? 'give a subcommand: create' : `unknown subcommand ${JSON.stringify(sub)}`, USAGE);
  if (!name || extra.length > 0) throw new UsageError('give exactly one bundle name', USAGE);
  if (!values.from && !values.base) throw new UsageError('give --base MODEL:N, or --from BUNDLE:N to start from a bundle', USAGE);
  const v = await ctx.client().createBundle(name, {
    ...(values.from ? { from: values.from as string } : {}),
    ...(values.base ? { base: values.base as string } : {}),
    ...(values.adapter ? { adapters: values.adapter as string[] } : {}),
    ...(values.prompt ? { prompt: values.prompt as string } : {}),
    ...(values.rag ? { rag: values.rag as string } : {}),
    ...(values.params ? { params: parsePairs(values.params as string[], 'params', USAGE, true) } : {}),
    ...(values.description ? { description: values.description as string } : {}),
    ...(values.tag ? { tags: parsePairs(values.tag as string[], 'tag', USAGE, false) as Record<string, string> } : {}),
  });
  if (ctx.json) return (ctx.printJson(v), 0);
  ctx.print(`${v.model}:${v.version} ${v.digest}`);
  for (const d of v.dependencies) ctx.print(`  pins ${d.model}:${d.version} ${d.digest}`);
  return 0;
}
