import type { BerthClient } from '@berth/sdk';
import type { LineageEntry } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { bytes, kv, table, when } from '../output/format.js';

const USAGE = `usage: berth show <ref> [--tree | --used-by]
Shows one version with its files, metadata, tags, aliases and lineage.
--tree: the whole pinned tree (what the version pins, and what those pin, recursively).
--used-by: every version that pins this one (bundles, adapters).
<ref>: name (latest), name:3, name@alias, name@sha256:…, models:/name/3`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { tree: { type: 'boolean' }, 'used-by': { type: 'boolean' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give exactly one reference', USAGE);
  if (values.tree && values['used-by']) throw new UsageError('give --tree or --used-by, not both', USAGE);
  const [ref = ''] = positionals;
  const client = ctx.client();
  const v = await client.resolve(ref);
  if (values.tree) {
    const root: TreeNode = { model: v.model, version: v.version, kind: (await client.getModel(v.model)).kind, digest: v.digest, uses: [] };
    root.uses = await usesOf(client, v.model, v.version);
    if (ctx.json) return (ctx.printJson(root), 0);
    ctx.print(treeLines(root, '').join('\n'));
    return 0;
  }
  if (values['used-by']) {
    const users: LineageEntry[] = [];
    for await (const e of client.paginate((cursor) => client.lineage(v.model, v.version, 'used-by', { cursor, limit: 1000 }))) users.push(e);
    if (ctx.json) return (ctx.printJson({ model: v.model, version: v.version, used_by: users }), 0);
    if (users.length === 0) return (ctx.print(`nothing pins ${v.model}:${v.version}`), 0);
    ctx.print(
      table(
        ['VERSION', 'KIND', 'DIGEST'],
        users.map((e) => [`${e.model}:${e.version}`, e.kind, e.digest]),
      ),
    );
    return 0;
  }
  if (ctx.json) return (ctx.printJson(v), 0);
  ctx.print(
    kv([
      ['version', `${v.model}:${v.version}`],
      // An external version's digest is the empty manifest's: it names no content (decision 0021).
      ...(v.content_addressed === false
        ? [
            ['digest', 'none: external version, not content-addressed'] as [string, unknown],
            ['external', `${v.external_uri} (Berth holds no files of it; bundles, adapters and promotions refuse it)`] as [string, unknown],
          ]
        : [['digest', v.digest] as [string, unknown]]),
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

type TreeNode = LineageEntry & { uses: TreeNode[] };

/** What a version pins, recursively: pins form no cycles (a version pins only older versions). */
async function usesOf(client: BerthClient, model: string, version: number): Promise<TreeNode[]> {
  const { items } = await client.lineage(model, version, 'uses');
  return Promise.all(items.map(async (e) => ({ ...e, uses: await usesOf(client, e.model, e.version) })));
}

function treeLines(node: TreeNode, indent: string): string[] {
  const line = `${indent}${node.model}:${node.version} (${node.kind}) ${node.digest}`;
  return [line, ...node.uses.flatMap((c) => treeLines(c, `${indent}  `))];
}
