import { BerthError, EXIT_CODE } from '@berth/core';
import { GLOBAL_OPTIONS } from './args.js';
import { makeContext, type Context } from './context.js';
import { UsageError, type Io } from './io.js';
import { parseArgs } from 'node:util';

type Command = (argv: string[], ctx: Context) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  server: { summary: 'run the Berth server', load: async () => (await import('./commands/server.js')).run },
  push: { summary: 'register a folder or file as a new version', load: async () => (await import('./commands/push.js')).run },
  pull: { summary: 'download a version, verifying every sha256', load: async () => (await import('./commands/pull.js')).run },
  ls: { summary: 'list models, or the versions of one model', load: async () => (await import('./commands/ls.js')).run },
  show: { summary: 'show one version (name, name:3, name@alias, name@sha256:…)', load: async () => (await import('./commands/show.js')).run },
  alias: { summary: 'set | rm | ls | history | swap | freeze | unfreeze aliases', load: async () => (await import('./commands/alias.js')).run },
  at: { summary: 'what an alias (or a model) was at a point in time', load: async () => (await import('./commands/at.js')).run },
  audit: { summary: 'the audit trail; `audit verify` checks its hash chain', load: async () => (await import('./commands/audit.js')).run },
  update: { summary: 'edit description, metadata or tags of a version or model', load: async () => (await import('./commands/update.js')).run },
  rm: { summary: 'delete a version or a model', load: async () => (await import('./commands/rm.js')).run },
  gc: { summary: 'remove unreferenced blobs past a grace period', load: async () => (await import('./commands/gc.js')).run },
  model: { summary: 'create | rename a model', load: async () => (await import('./commands/model.js')).run },
};

export function topUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: berth <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'global options: --url URL (or BERTH_URL, default http://127.0.0.1:7878), --json, --help',
    'exit codes: 0 ok, 1 failure, 2 usage or invalid argument, 3 not found, 4 conflict or already exists',
    'docs: docs/cli.md',
  ].join('\n');
}

/** Runs one CLI invocation and returns its exit code (DESIGN §6). Never calls process.exit. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  // global flags may come before or after the command; each command parses them again
  const globals = (() => {
    try {
      return parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: false, allowPositionals: true }).values;
    } catch {
      return {};
    }
  })();
  const ctx = makeContext(io, globals);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${topUsage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout.write('berth 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.stderr.write(`error: unknown command ${JSON.stringify(name)}\n\n${topUsage()}\n`);
    return 2;
  }
  try {
    return await (await cmd.load())(rest, ctx);
  } catch (err) {
    return reportError(err, ctx);
  }
}

export function reportError(err: unknown, ctx: Context): number {
  if (err instanceof UsageError) {
    ctx.io.stderr.write(`error: ${err.message}\n${err.usage ? `\n${err.usage}\n` : ''}`);
    if (ctx.json) ctx.printJson({ error: { code: 'INVALID_ARGUMENT', message: err.message, details: {} } });
    return 2;
  }
  if (err instanceof BerthError) {
    ctx.io.stderr.write(`error: ${err.message}\n`);
    if (ctx.json) ctx.printJson(err.toJSON());
    return EXIT_CODE[err.code];
  }
  const e = err as NodeJS.ErrnoException;
  ctx.io.stderr.write(`error: ${e?.message ?? String(err)}\n`);
  if (ctx.json) ctx.printJson({ error: { code: 'INTERNAL', message: e?.message ?? String(err), details: {} } });
  return 1;
}
