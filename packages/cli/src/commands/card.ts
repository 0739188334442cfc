import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BerthError, diffCards, parseCard, parseReference, type Card } from '@berth/core';
import type { BerthClient } from '@berth/sdk';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth card <ref> [--json]
       berth card <ref> --edit FILE.md
       berth card <ref> --diff <ref2>
A version's model card (the Hub's README.md with YAML front matter: license, base_model,
model-index, ...): the edited card if there is one, else the version's README.md, else one
generated from its metadata and recorded evaluations. --edit stores FILE.md as the version's
card (editor; audited; the version's files stay as they are). --diff shows what changed from
<ref>'s card to <ref2>'s, as a unified diff.`;

/** The version a reference names, as the card routes take it: a number, an alias or a digest. */
async function target(client: BerthClient, raw: string): Promise<{ name: string; ref: string }> {
  const ref = parseReference(raw);
  const sel = ref.selector;
  if (sel.kind === 'version') return { name: ref.name, ref: String(sel.version) };
  if (sel.kind === 'alias') return { name: ref.name, ref: sel.alias };
  if (sel.kind === 'digest') return { name: ref.name, ref: sel.digest };
  const latest = await client.resolve(raw);
  return { name: latest.model, ref: String(latest.version) };
}

async function readCardFile(ctx: Context, file: string): Promise<string> {
  const path = resolve(ctx.io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `cannot read card file ${path}: ${code ?? (err as Error).message}`, { path });
  }
  try {
    parseCard(text);
  } catch (err) {
    // Checked here too so the message names the file before any request.
    if (err instanceof BerthError) throw new BerthError(err.code, `${file}: ${err.message}`, err.details);
    throw err;
  }
  return text;
}

const label = (c: Card) => `${c.model}:${c.version} (${c.source})`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { edit: { type: 'string' }, diff: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give one version: name:N, name@alias or name@sha256:…', USAGE);
  if (values.edit !== undefined && values.diff !== undefined) throw new UsageError('give --edit or --diff, not both', USAGE);
  const client = ctx.client();
  const [raw = ''] = positionals;
  if (values.edit !== undefined) {
    const text = await readCardFile(ctx, values.edit as string);
    const at = await target(client, raw);
    const card = await client.setCard(at.name, at.ref, text);
    if (ctx.json) ctx.printJson(card);
    else ctx.print(`${card.model}:${card.version} card updated`);
    return 0;
  }
  if (values.diff !== undefined) {
    const [a, b] = await Promise.all([target(client, raw), target(client, values.diff as string)]);
    const [from, to] = await Promise.all([client.getCard(a.name, a.ref), client.getCard(b.name, b.ref)]);
    const diff = diffCards(from.text, to.text, label(from), label(to));
    if (ctx.json)
      ctx.printJson({
        from: { model: from.model, version: from.version, source: from.source },
        to: { model: to.model, version: to.version, source: to.source },
        diff,
      });
    else ctx.print(diff === '' ? `the cards of ${label(from)} and ${label(to)} are the same` : diff.trimEnd());
    return 0;
  }
  const at = await target(client, raw);
  const card = await client.getCard(at.name, at.ref);
  if (ctx.json) ctx.printJson(card);
  else ctx.print(card.text.trimEnd());
  return 0;
}
