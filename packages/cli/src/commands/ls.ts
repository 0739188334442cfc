import type { Model, Version } from '@berth/core';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { bytes, shortDigest, table, when } from '../output/format.js';

const USAGE = `usage: berth ls [--kind K] [--prefix P] [--limit N]     list models
       berth ls <name> [--limit N]                      list the versions of a model, newest first`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { kind: { type: 'string' }, prefix: { type: 'string' }, limit: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length > 1) throw new UsageError('give at most one model name', USAGE);
  const limit = parseCount(values.limit, 'limit', USAGE) ?? Infinity;
  const client = ctx.client();
  const [model] = positionals;
  if (model === undefined) {
    const models: Model[] = [];
    for await (const m of client.iterModels({
      kind: values.kind as string | undefined,
      prefix: values.prefix as string | undefined,
      pageSize: Math.min(500, limit),
    })) {
      models.push(m);
      if (models.length >= limit) break;
    }
    if (ctx.json) return (ctx.printJson(models), 0);
    if (models.length === 0) return (ctx.print('no models yet: push one with `berth push <dir> --model NAME`'), 0);
    ctx.print(
      table(
        ['NAME', 'KIND', 'VERSIONS', 'LATEST', 'ALIASES', 'UPDATED'],
        models.map((m) => [
          m.name,
          m.kind,
          m.version_count,
          m.latest_version,
          Object.entries(m.aliases)
            .map(([a, v]) => `${a}=${v}`)
            .join(','),
          when(m.updated_at),
        ]),
      ),
    );
    return 0;
  }
  const versions: Version[] = [];
  for await (const v of client.iterVersions(model, Math.min(500, limit))) {
    versions.push(v);
    if (versions.length >= limit) break;
  }
  if (ctx.json) return (ctx.printJson(versions), 0);
  if (versions.length === 0) return (ctx.print(`${positionals[0]} has no versions`), 0);
  ctx.print(
    table(
      ['VERSION', 'DIGEST', 'SIZE', 'FILES', 'ALIASES', 'CREATED', 'BY'],
      versions.map((v) => [
        v.version,
        v.content_addressed === false ? `external ${v.external_uri}` : shortDigest(v.digest),
        bytes(v.size),
        v.file_count,
        v.aliases.join(','),
        when(v.created_at),
        v.created_by,
      ]),
    ),
  );
  return 0;
}
