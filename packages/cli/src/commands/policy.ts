import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BerthError, parsePolicy, type Policy, type PolicyDocument } from '@berth/core';
import { parse, parseVersionNumber } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { kv, shortDigest, table, when } from '../output/format.js';

const USAGE = `usage: berth policy apply <FILE.yaml>         store the policy as its next version (admin)
       berth policy ls                         the latest version of every policy
       berth policy show <name> [--version N]  one version (default: the latest) and its YAML
The policy's name is its \`policy:\` key. Applying a document equal to the latest version stores
nothing and says "unchanged". The file is checked here first: a mistake names its line and key.
exit codes: 0 ok, 2 invalid policy or usage, 3 not found, 4 bound to an alias another policy holds.`;

/** Reads and checks a policy file locally, so its mistakes name the file's line before any request. */
export async function readPolicyFile(ctx: Context, file: string): Promise<{ yaml: string; document: PolicyDocument }> {
  const path = resolve(ctx.io.cwd, file);
  let yaml: string;
  try {
    yaml = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `cannot read policy file ${path}: ${code ?? (err as Error).message}`, { path });
  }
  try {
    return { yaml, document: parsePolicy(yaml) };
  } catch (err) {
    if (err instanceof BerthError) throw new BerthError(err.code, `${file}: ${err.message}`, err.details);
    throw err;
  }
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { version: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, arg] = positionals;
  const need = (n: number, what: string) => {
    if (positionals.length !== n) throw new UsageError(`policy ${sub} takes ${what}`, USAGE);
  };
  switch (sub) {
    case 'apply': {
      need(2, 'one policy file');
      const { yaml, document } = await readPolicyFile(ctx, arg ?? '');
      const p = await ctx.client().applyPolicy(document.policy, yaml);
      if (ctx.json) return (ctx.printJson(p), 0);
      ctx.print(`policy ${p.name} version ${p.version} ${p.digest}${p.unchanged ? ' unchanged' : ''}`);
      return 0;
    }
    case 'ls': {
      need(1, 'no arguments');
      const items: Policy[] = [];
      for await (const p of ctx.client().iterPolicies()) items.push(p);
      if (ctx.json) return (ctx.printJson(items), 0);
      if (items.length === 0) return (ctx.print('no policies; store one with `berth policy apply FILE.yaml`'), 0);
      ctx.print(
        table(
          ['NAME', 'VERSION', 'ALIAS', 'GATES', 'APPROVALS', 'BOUND TO', 'DIGEST', 'CREATED', 'BY'],
          items.map((p) => [
            p.name,
            p.version,
            p.document.target_alias,
            p.document.gates.length,
            p.document.require_approvals || '',
            p.document.models?.join(',') ?? '',
            shortDigest(p.digest),
            when(p.created_at),
            p.created_by,
          ]),
        ),
      );
      return 0;
    }
    case 'show': {
      need(2, 'one policy name');
      const version = values.version === undefined ? undefined : parseVersionNumber(values.version as string, '--version', USAGE);
      const p = await ctx.client().getPolicy(arg ?? '', { version });
      if (ctx.json) return (ctx.printJson(p), 0);
      ctx.print(
        kv([
          ['policy', p.name],
          ['version', p.version],
          ['digest', p.digest],
          ['created', `${when(p.created_at)} by ${p.created_by}`],
        ]),
      );
      ctx.print(p.yaml);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown policy command ${JSON.stringify(sub)}` : 'give a policy command: apply, ls or show', USAGE);
  }
}
