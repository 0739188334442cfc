import { startServer } from '@berth/server';
import { BerthError } from '@berth/core';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';

const USAGE = `usage: berth server [--host 127.0.0.1] [--port 7878] [--data ./.berth] [--db sqlite:<path>|postgres://…] [--blobs DIR]
                    [--config berth.yaml] [--body-limit BYTES] [--log-level info] [--insecure-no-auth]
                    [--public-url URL] [--allowed-hosts NAME,…] [--allowed-origins ORIGIN,…]
Runs the registry. Precedence: flags > BERTH_* environment > berth.yaml > defaults.
Stops cleanly on SIGTERM or SIGINT.`;

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
      'insecure-no-auth': { type: 'boolean' },
      'public-url': { type: 'string' },
      'allowed-hosts': { type: 'string' },
      'allowed-origins': { type: 'string' },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const port = parseCount(values.port, 'port', USAGE, 0, 65535);
  const server = await startServer({
    host: values.host as string | undefined,
    port,
    data: values.data as string | undefined,
    db: values.db as string | undefined,
    blobs: values.blobs as string | undefined,
    config: values.config as string | undefined,
    bodyLimit: parseCount(values['body-limit'], 'body-limit', USAGE, 1),
    logLevel: values['log-level'] as string | undefined,
    insecureNoAuth: values['insecure-no-auth'] as boolean | undefined,
    publicUrl: values['public-url'] as string | undefined,
    allowedHosts: values['allowed-hosts'] as string | undefined,
    allowedOrigins: values['allowed-origins'] as string | undefined,
    env: ctx.io.env,
    cwd: ctx.io.cwd,
  }).catch((err: NodeJS.ErrnoException) => {
    // listen failures are the one foreign error this command meets itself
    if (err?.code === 'EADDRINUSE')
      throw new BerthError('FAILED_PRECONDITION', `${err.message.replace(/^listen /, '')}: another process listens there; stop it or pass --port`, {
        port: port ?? null,
      });
    if (err?.code === 'EADDRNOTAVAIL')
      throw new BerthError(
        'INVALID_ARGUMENT',
        `cannot listen on ${values.host}: no such local address (${err.code}); use 127.0.0.1 or an address of this machine`,
        { host: values.host ?? null },
      );
    if (err?.code === 'EACCES')
      throw new BerthError('FAILED_PRECONDITION', `not allowed to listen there (${err.message}): ports below 1024 need privileges; pick another --port`, {
        port: port ?? null,
      });
    throw err;
  });
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
