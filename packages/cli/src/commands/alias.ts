import { BerthError, type AliasHistoryEntry } from '@berth/core';
import { parse, parseExpect, parseVersionNumber } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { table, when } from '../output/format.js';

const USAGE = `usage: berth alias set <model> <alias> <version> [--expect N|none] [--reason R]
       berth alias rm <model> <alias> [--expect N] [--reason R]
       berth alias ls <model>
       berth alias history <model> <alias>
       berth alias swap <model> <alias-a> <alias-b> [--reason R]
       berth alias freeze|unfreeze <model> <alias> [--reason R]
--expect makes the move a compare-and-swap: it happens only if the alias still holds that
version (none: only if it is unset); otherwise exit 4 and nothing changes.`;

/** A lost compare-and-swap reads as "champion is at 2 now (expected 1)". */
export function conflictMessage(err: BerthError): string {
  const d = err.details as { alias?: string; current?: number | null; expected?: number | null };
  if (err.code !== 'CONFLICT' || d.alias === undefined) return err.message;
  const now = d.current === null || d.current === undefined ? 'not set now' : `at ${d.current} now`;
  const expected = d.expected === null ? 'unset' : String(d.expected);
  return `${d.alias} is ${now} (expected ${expected}); nothing was changed`;
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { expect: { type: 'string' }, reason: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  // Each command checks the count with need() before using them.
  const [sub, model = '', alias = '', arg = ''] = positionals;
  const need = (n: number) => {
    if (positionals.length !== n) throw new UsageError(`alias ${sub} takes ${n - 1} argument(s)`, USAGE);
  };
  const reason = values.reason as string | undefined;
  const client = ctx.client();
  try {
    switch (sub) {
      case 'set': {
        need(4);
        const a = await client.setAlias(model, alias, parseVersionNumber(arg, 'version', USAGE), {
          expect: parseExpect(values.expect as string | undefined, USAGE),
          reason,
        });
        if (ctx.json) ctx.printJson(a);
        else ctx.print(`${a.model}@${a.alias} -> ${a.version}`);
        return 0;
      }
      case 'rm': {
        need(3);
        await client.deleteAlias(model, alias, { expect: parseExpect(values.expect as string | undefined, USAGE), reason });
        if (ctx.json) ctx.printJson({ model, alias, deleted: true });
        else ctx.print(`${model}@${alias} removed`);
        return 0;
      }
      case 'ls': {
        need(2);
        const items = await client.listAliases(model);
        if (ctx.json) return (ctx.printJson(items), 0);
        ctx.print(
          table(
            ['ALIAS', 'VERSION', 'PROTECTED', 'FROZEN', 'UPDATED', 'BY'],
            items.map((a) => [a.alias, a.version, a.protected ? 'yes' : '', a.frozen ? 'yes' : '', when(a.updated_at), a.updated_by]),
          ),
        );
        return 0;
      }
      case 'history': {
        need(3);
        const items: AliasHistoryEntry[] = [];
        for await (const h of client.iterAliasHistory(model, alias)) items.push(h);
        if (ctx.json) return (ctx.printJson(items), 0);
        if (items.length === 0) return (ctx.print(`${model}@${alias} has never been set`), 0);
        ctx.print(
          table(
            ['SEQ', 'AT', 'ACTOR', 'ACTION', 'FROM', 'TO', 'REASON'],
            items.map((h) => [h.seq, when(h.at), h.actor, h.action.replace('alias.', ''), h.from_version, h.to_version, h.reason]),
          ),
        );
        return 0;
      }
      case 'swap': {
        need(4);
        const other = arg;
        const aliases = await client.listAliases(model);
        const a = aliases.find((x) => x.alias === alias);
        const b = aliases.find((x) => x.alias === other);
        if (!a || !b) throw new BerthError('NOT_FOUND', `both aliases must be set to swap them: ${!a ? alias : other} is not set`, {});
        const moved = await client.moveAliases(
          model,
          [
            { alias, version: b.version, expect: a.version },
            { alias: other, version: a.version, expect: b.version },
          ],
          reason,
        );
        if (ctx.json) ctx.printJson(moved);
        else ctx.print(moved.map((m) => `${m.model}@${m.alias} -> ${m.version}`).join('\n'));
        return 0;
      }
      case 'freeze':
      case 'unfreeze': {
        need(3);
        const a = sub === 'freeze' ? await client.freezeAlias(model, alias, reason) : await client.unfreezeAlias(model, alias, reason);
        if (ctx.json) ctx.printJson(a);
        else ctx.print(`${a.model}@${a.alias} ${a.frozen ? 'frozen' : 'unfrozen'} at ${a.version}`);
        return 0;
      }
      default:
        throw new UsageError(sub ? `unknown alias command ${JSON.stringify(sub)}` : 'give an alias command', USAGE);
    }
  } catch (err) {
    if (err instanceof BerthError && err.code === 'CONFLICT') throw new BerthError('CONFLICT', conflictMessage(err), err.details);
    throw err;
  }
}
