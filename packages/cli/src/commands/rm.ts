import { parse, parseNameVersion } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth rm <name:version> [--force]
       berth rm <name> [--force]
A version that aliases point at is deleted only with --force, by an admin; its aliases go with
it in the same audited change. A version another version pins is never deleted. Version numbers
are never reused.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { force: { type: 'boolean', default: false } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give one model or name:version', USAGE);
  const { name, version } = parseNameVersion(positionals[0], USAGE);
  const client = ctx.client();
  if (version === undefined) await client.deleteModel(name, { force: values.force as boolean });
  else await client.deleteVersion(name, version, { force: values.force as boolean });
  const what = version === undefined ? name : `${name}:${version}`;
  if (ctx.json) ctx.printJson({ deleted: what });
  else ctx.print(`${what} deleted`);
  return 0;
}
