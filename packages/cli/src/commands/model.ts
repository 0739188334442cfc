import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth model create <name> [--kind K] [--description D] [--protect alias,alias]
       berth model rename <old> <new>
       berth model protect <name> <alias,alias,...>     (admin: which aliases need an approver)`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { kind: { type: 'string' }, description: { type: 'string' }, protect: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  // Each command checks the count before using them.
  const [sub, a = '', b = ''] = positionals;
  const client = ctx.client();
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  if (sub === 'create' && positionals.length === 2) {
    const m = await client.createModel({
      name: a,
      kind: values.kind as string | undefined,
      description: values.description as string | undefined,
      ...(values.protect !== undefined ? { protected_aliases: list(values.protect as string) } : {}),
    });
    if (ctx.json) ctx.printJson(m);
    else ctx.print(`${m.name} created (${m.kind}; protected aliases: ${m.protected_aliases.join(', ') || 'none'})`);
    return 0;
  }
  if (sub === 'rename' && positionals.length === 3) {
    const m = await client.updateModel(a, { new_name: b });
    if (ctx.json) ctx.printJson(m);
    else ctx.print(`${a} renamed to ${m.name}; its history follows it`);
    return 0;
  }
  if (sub === 'protect' && positionals.length === 3) {
    const m = await client.updateModel(a, { protected_aliases: list(b) });
    if (ctx.json) ctx.printJson(m);
    else ctx.print(`${m.name}: protected aliases ${m.protected_aliases.join(', ') || 'none'}`);
    return 0;
  }
  throw new UsageError(sub ? `unknown or incomplete model command ${JSON.stringify(positionals.join(' '))}` : 'give a model command', USAGE);
}
