// The start-up entry alone: the rest of the server loads once the settings are known to be good.
import { startServer } from '@berth/server/start';
import { BerthError } from '@berth/core';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';

const USAGE = `usage: berth server [--host 127.0.0.1] [--port 7878] [--data ./.berth] [--db sqlite:<path>|postgres://…] [--blobs DIR]
                    [--config berth.yaml] [--body-limit BYTES] [--log-level info] [--auth] [--insecure-no-auth]
                    [--public-url URL] [--allowed-hosts NAME,…] [--allowed-origins ORIGIN,…] [--refuse-unsafe-pickle]
Runs the registry. Precedence: flags > BERTH_* environment > berth.yaml > defaults.
Stops cleanly on SIGTERM or SIGINT.`;

/** Listen failures are the one foreign error this command meets itself. */
function listenError(err: unknown, host: string | undefined, port: number | undefined): unknown {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code === 'EADDRINUSE')
    return new BerthError('FAILED_PRECONDITION', `${e.message.replace(/^listen /, '')}: another process listens there; stop it or pass --port`, {
      port: port ?? null,
    });
  if (e?.code === 'EADDRNOTAVAIL')
    return new BerthError('INVALID_ARGUMENT', `cannot listen on ${host}: no such local address (${e.code}); use 127.0.0.1 or an address of this machine`, {
      host: host ?? null,
    });
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN')
    return new BerthError('INVALID_ARGUMENT', `cannot listen on ${host}: the name does not resolve (${e.code}); use 127.0.0.1 or a name of this machine`, {
      host: host ?? null,
    });
  if (e?.code === 'EACCES')
    return new BerthError('FAILED_PRECONDITION', `not allowed to listen there (${e.message}): ports below 1024 need privileges; pick another --port`, {
      port: port ?? null,
    });
  return err;
}

/**
 * Whatever stops the server from starting is something to fix in its settings or its
 * surroundings, never a crash: one line on stderr, exit 2 (the stack with BERTH_DEBUG=1).
 */
function startupFailure(err: unknown, ctx: Context): number {
  const e = err as Error | undefined;
  const message = (e?.message || String(err)).replace(/\s*\n\s*/g, ' ');
  ctx.io.stderr.write(`error: ${err instanceof BerthError ? message : `cannot start the server: ${message}`}\n`);
  if (ctx.io.env.BERTH_DEBUG) ctx.io.stderr.write(`${e?.stack ?? ''}\n`);
  if (ctx.json)
    ctx.printJson(err instanceof BerthError ? { error: { ...err.toJSON().error, message } } : { error: { code: 'INTERNAL', message, details: {} } });
  return 2;
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values } = parse(
    argv,
    {
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      db: { type: 'string' },
      blobs: { type: 'string' },
      config: { type: 'string' },
      'body-limit': { type: 'string' },
      'log-level': { type: 'string' },
      auth: { type: 'boolean' },
      'insecure-no-auth': { type: 'boolean' },
      'public-url': { type: 'string' },
      'allowed-hosts': { type: 'string' },
      'allowed-origins': { type: 'string' },
      'refuse-unsafe-pickle': { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const port = parseCount(values.port, 'port', USAGE, 0, 65535);
  const bodyLimit = parseCount(values['body-limit'], 'body-limit', USAGE, 1);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      host: values.host as string | undefined,
      port,
      data: values.data as string | undefined,
      db: values.db as string | undefined,
      blobs: values.blobs as string | undefined,
      config: values.config as string | undefined,
      bodyLimit,
      logLevel: values['log-level'] as string | undefined,
      auth: values.auth as boolean | undefined,
      insecureNoAuth: values['insecure-no-auth'] as boolean | undefined,
      publicUrl: values['public-url'] as string | undefined,
      allowedHosts: values['allowed-hosts'] as string | undefined,
      allowedOrigins: values['allowed-origins'] as string | undefined,
      refuseUnsafePickle: values['refuse-unsafe-pickle'] as boolean | undefined,
      env: ctx.io.env,
      cwd: ctx.io.cwd,
    });
  } catch (err) {
    return startupFailure(listenError(err, values.host as string | undefined, port), ctx);
  }
  if (ctx.json) ctx.printJson({ url: server.url, db: server.config.db.replace(/\/\/[^@]*@/, '//***@'), blobs: server.config.blobs });
  else ctx.print(`Berth listening on ${server.url} (db ${server.config.db.replace(/\/\/[^@]*@/, '//***@')}, blobs ${server.config.blobs})`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await server.close();
  return 0;
}
