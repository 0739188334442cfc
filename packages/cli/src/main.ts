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
  webhook: { summary: 'add | ls | rm | deliveries | replay | test webhooks', load: async () => (await import('./commands/webhook.js')).run },
  token: { summary: 'create | ls | revoke bearer tokens (admin)', load: async () => (await import('./commands/token.js')).run },
  whoami: { summary: 'who the server takes you for (token name, roles, models)', load: async () => (await import('./commands/token.js')).whoami },
  eval: { summary: 'record | run | latency | ls evaluations of a version', load: async () => (await import('./commands/eval.js')).run },
  policy: { summary: 'apply | ls | show promotion policies', load: async () => (await import('./commands/policy.js')).run },
  gate: { summary: "check a version against a policy's gates, here (exit 1 if one fails)", load: async () => (await import('./commands/gate.js')).run },
  promote: { summary: 'move an alias to a version under a policy (exit 1 if a gate fails)', load: async () => (await import('./commands/promote.js')).run },
  promotions: { summary: 'ls | show promotions and their stored gate reports', load: async () => (await import('./commands/promotions.js')).run },
  approve: { summary: 'approve a pending promotion', load: async () => (await import('./commands/approve.js')).run },
  reject: { summary: 'reject a pending promotion', load: async () => (await import('./commands/approve.js')).reject },
  rollback: { summary: 'move an alias back to its previous holder', load: async () => (await import('./commands/rollback.js')).run },
  bundle: {
    summary: 'create a bundle version: base, adapters, prompt, RAG config pinned by digest',
    load: async () => (await import('./commands/bundle.js')).run,
  },
  diff: { summary: 'what changed between two versions, component by component, file by file', load: async () => (await import('./commands/diff.js')).run },
  events: { summary: 'events after a seq; --follow keeps following them (SSE, resumable)', load: async () => (await import('./commands/events.js')).run },
  prompt: { summary: 'push | render prompt templates ({{variables}}, examples, parameters)', load: async () => (await import('./commands/prompt.js')).run },
  import: {
    summary: 'import mlflow | hub: move models in from an MLflow server or a Hub endpoint',
    load: async () => (await import('./commands/import.js')).run,
  },
  deploy: { summary: 'apply | ls | show | status | rm deployments served by gateways', load: async () => (await import('./commands/deploy.js')).run },
  feedback: { summary: 'a quality score (0..1) for one gateway answer, by its request id', load: async () => (await import('./commands/feedback.js')).run },
  card: { summary: "a version's model card (Hub README.md): show, --edit, --diff", load: async () => (await import('./commands/card.js')).run },
  gateway: { summary: 'serve deployments over the OpenAI API, following the registry', load: async () => (await import('./commands/gateway.js')).run },
};

export function topUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: berth <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'global options: --url URL (or BERTH_URL, default http://127.0.0.1:7878), --token TOKEN (or BERTH_TOKEN), --json, --help',
    "`berth help <command>` (or `berth <command> --help`) shows a command's options",
    'exit codes: 0 ok, 1 failure, 2 usage or invalid argument, 3 not found, 4 conflict or already exists',
    'docs: docs/cli.md',
  ].join('\n');
}

/**
 * Splits argv into the command name and the rest. Global flags may come before the command
 * (`berth --url http://h:7878 ls`); they stay in the rest, where the command parses them again.
 */
export function splitCommand(argv: string[]): { name?: string; rest: string[] } {
  let tokens: ReturnType<typeof parseArgs>['tokens'];
  try {
    tokens = parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: false, allowPositionals: true, tokens: true }).tokens;
  } catch {
    return { name: argv[0], rest: argv.slice(1) };
  }
  const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  if (first?.kind !== 'positional') return { rest: argv };
  return { name: first.value, rest: [...argv.slice(0, first.index), ...argv.slice(first.index + 1)] };
}

/** Runs one CLI invocation and returns its exit code (DESIGN §6). Never calls process.exit. */
export async function main(argv: string[], io: Io): Promise<number> {
  const { name, rest } = splitCommand(argv);
  const globals = (() => {
    try {
      return parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: false, allowPositionals: true }).values;
    } catch {
      return {};
    }
  })();
  const ctx = makeContext(io, globals);
  if (name === 'help' && rest.length === 0) return (io.stdout.write(`${topUsage()}\n`), 0);
  if (name === 'help') return main([rest[0]!, '--help'], io);
  if (!name) {
    if (globals.help) return (io.stdout.write(`${topUsage()}\n`), 0);
    if (argv.includes('--version')) return (io.stdout.write('berth 0.1.0\n'), 0);
    io.stderr.write(`${topUsage()}\n`);
    return 2;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    io.stderr.write(`error: unknown command ${JSON.stringify(name)}\n\n${topUsage()}\n`);
    if (ctx.json) ctx.printJson({ error: { code: 'INVALID_ARGUMENT', message: `unknown command ${JSON.stringify(name)}`, details: {} } });
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
  // Anything else is a bug in berth: say so, and give the stack on request.
  const e = err as NodeJS.ErrnoException;
  ctx.io.stderr.write(`error: ${e?.message ?? String(err)}\n`);
  ctx.io.stderr.write(
    ctx.io.env.BERTH_DEBUG ? `${e?.stack ?? ''}\n` : 'hint: this looks like a bug in berth; run again with BERTH_DEBUG=1 for the stack trace and report it\n',
  );
  if (ctx.json) ctx.printJson({ error: { code: 'INTERNAL', message: e?.message ?? String(err), details: {} } });
  return 1;
}
