import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BerthError, MAX_PROMPT_FILE_BYTES, invalid, parseAssignment } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth prompt push NAME --template FILE [--chat] [--examples FILE] [--param k=v ...] [-m TEXT]
       berth prompt render REF [--var k=v ...]
push registers a new version of prompt model NAME (created with kind prompt when new): the
template as prompt.txt, or as prompt.json with --chat or a .json template (a chat template: a
JSON list of {"role", "content"}); --examples as examples.json (a JSON list; an example's
"variables" or "inputs" may only name variables the template declares); --param values as
params.json, typed (temperature=0.2 is a number). Variables are written {{name}}.
-m/--message is the version's description.
render fills REF (name:N, name@alias, name@sha256:…, or name for its latest version) on the
server and prints the text (a chat template: one "role: content" block per message); every
variable the template declares must be given with --var, and no other.
--json prints the version (push) or {model, version, digest, format, text | messages, params, examples} (render).
exit codes: 0 ok, 2 invalid prompt, variable or usage, 3 not found.`;

/** A prompt file as text: small, and UTF-8, which is what the server accepts. */
async function readPromptFile(ctx: Context, file: string, flag: string): Promise<string> {
  const path = resolve(ctx.io.cwd, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `cannot read ${flag} file ${path}: ${code ?? (err as Error).message}`, {
      field: flag,
      path,
    });
  }
  if (bytes.length > MAX_PROMPT_FILE_BYTES)
    throw invalid(`${flag} file ${file} is ${bytes.length} bytes; a prompt file is at most ${MAX_PROMPT_FILE_BYTES} bytes`, { field: flag });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`${flag} file ${file} is not UTF-8 text`, { field: flag });
  }
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      template: { type: 'string' },
      chat: { type: 'boolean' },
      examples: { type: 'string' },
      param: { type: 'string', multiple: true },
      message: { type: 'string', short: 'm' },
      var: { type: 'string', multiple: true },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, target, ...extra] = positionals;
  if (sub !== 'push' && sub !== 'render')
    throw new UsageError(sub === undefined ? 'give a subcommand: push or render' : `unknown subcommand ${JSON.stringify(sub)}`, USAGE);
  if (!target || extra.length > 0) throw new UsageError(`prompt ${sub} takes exactly one ${sub === 'push' ? 'prompt name' : 'reference'}`, USAGE);
  const refuse = (flags: string[]) => {
    for (const f of flags) if (values[f] !== undefined) throw new UsageError(`--${f} belongs to \`berth prompt ${sub === 'push' ? 'render' : 'push'}\``, USAGE);
  };
  return sub === 'push'
    ? (refuse(['var']), push(target, values, ctx))
    : (refuse(['template', 'chat', 'examples', 'param', 'message']), render(target, values, ctx));
}

async function push(name: string, values: Record<string, unknown>, ctx: Context): Promise<number> {
  const template = values.template as string | undefined;
  if (!template) throw new UsageError('give the template file: --template FILE', USAGE);
  const params = Object.fromEntries(((values.param as string[] | undefined) ?? []).map((p) => parseAssignment(p, '--param', true)));
  const examples = values.examples === undefined ? undefined : await readPromptFile(ctx, values.examples as string, '--examples');
  const v = await ctx.client().pushPrompt(name, {
    template: await readPromptFile(ctx, template, '--template'),
    format: values.chat === true || template.toLowerCase().endsWith('.json') ? 'chat' : 'text',
    ...(examples !== undefined ? { examples } : {}),
    params,
    ...(values.message !== undefined ? { description: values.message as string } : {}),
  });
  if (ctx.json) return (ctx.printJson(v), 0);
  const facts = v.metadata.prompt as { format?: string; variables?: string[] } | undefined;
  ctx.print(`${v.model}:${v.version} ${v.digest}`);
  if (facts) ctx.print(`  ${facts.format} template, variables: ${facts.variables?.length ? facts.variables.join(', ') : 'none'}`);
  return 0;
}

async function render(ref: string, values: Record<string, unknown>, ctx: Context): Promise<number> {
  const variables = Object.fromEntries(((values.var as string[] | undefined) ?? []).map((p) => parseAssignment(p, '--var', false))) as Record<string, string>;
  const r = await ctx.client().renderPrompt(ref, variables);
  if (ctx.json) return (ctx.printJson(r), 0);
  ctx.print(r.format === 'text' ? (r.text ?? '') : (r.messages ?? []).map((m) => `${m.role}: ${m.content}`).join('\n\n'));
  return 0;
}
