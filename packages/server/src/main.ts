import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FsBlobStore } from './blobs/fs-blob-store.js';
import type { buildApp } from './app.js';
import { authRequired, checkListenSafety, resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
import { prepareFolder } from './data-folder.js';

export interface RunningServer {
  url: string;
  config: ServerConfig;
  close(): Promise<void>;
}

/** Binds host:port once and lets go, so listen errors surface before anything is opened. */
function canListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * The composition root: the one place that reads configuration, opens the stores and
 * listens. `berth server` calls it; so do the end-to-end tests, through the real binary.
 */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const config = resolveConfig({ ...opts, env: opts.env ?? process.env });
  // A taken port or a foreign address fails here, in milliseconds, not after the stores open.
  await canListen(config.host, config.port);
  // Checked before anything opens them, so a bad folder is one clear error, not a hang or a raw errno.
  const sqliteFile = config.db.startsWith('sqlite:') && config.db !== 'sqlite::memory:' ? config.db.slice('sqlite:'.length) : undefined;
  if (sqliteFile) await prepareFolder(dirname(sqliteFile), 'database folder', dirname(sqliteFile) === config.data ? '--data' : '--db');
  await prepareFolder(config.blobs, 'blob folder', config.blobs === join(config.data, 'blobs') ? '--data' : '--blobs');
  // The heavy modules (database drivers, Fastify) load only now: a start-up that fails on its
  // settings fails before spending the time, and the one-line error comes at once. openStore
  // probes PostgreSQL with a short timeout and words every open failure as one line.
  const { openStore } = await import('./store/store.js');
  const store = await openStore(config.db);
  const [{ FsBlobStore }, { PartStaging }, { Registry }, { DEFAULT_REGISTRY_CONFIG }, { systemClock }, { buildApp }, { WebhookDispatcher }, { serverMetrics }] =
    await Promise.all([
      import('./blobs/fs-blob-store.js'),
      import('./blobs/part-staging.js'),
      import('./registry/registry.js'),
      import('./registry/deps.js'),
      import('./registry/actor.js'),
      import('./app.js'),
      import('./webhooks/dispatcher.js'),
      import('./http/metrics.js'),
    ]).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
  let blobs: FsBlobStore | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  // Delivers what the outbox holds, from before a crash too, once the server listens.
  const dispatcher = new WebhookDispatcher({
    store,
    now: () => systemClock.now(),
    allowPrivate: config.webhookAllowPrivate,
    onError: (err) => app?.log.warn({ err }, 'webhook dispatch failed; retrying on the next round'),
    onDeliveryFailure: (webhook) => serverMetrics.webhookDeliveryFailures.inc({ webhook }),
  });
  serverMetrics.setOutboxLagSource(() => dispatcher.outboxLag());
  try {
    blobs = await FsBlobStore.open(config.blobs);
    await blobs.cleanTemp(3600 * 1000);
    // Multipart parts wait beside the blobs they become, on the same disk.
    const partStaging = new PartStaging(join(blobs.root, 'multipart'));
    const registry = new Registry({
      store,
      blobs,
      partStaging,
      clock: systemClock,
      config: { ...DEFAULT_REGISTRY_CONFIG, webhookAllowPrivate: config.webhookAllowPrivate, refuseUnsafePickle: config.refuseUnsafePickle },
    });
    const warning = checkListenSafety(config, await registry.tokens.countActive());
    app = await buildApp({
      registry,
      bodyLimit: config.bodyLimit,
      // One line per request (http/metrics.ts); a header that carries a credential never reaches a line whatever logs it.
      logger:
        config.logLevel === 'silent'
          ? false
          : { level: config.logLevel, redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' } },
      ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      authRequired: authRequired(config),
      // The web UI's build, beside this package in the workspace (packages/web/dist).
      webRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)),
    });
    if (warning) {
      // On stderr as well as in the log: a log level of silent or warn-filtering must not hide it.
      process.stderr.write(`${warning}\n`);
      app.log.warn(warning);
    }
    await app.listen({ host: config.host, port: config.port });
    dispatcher.start();
  } catch (err) {
    // An open pool or handle would keep the process alive after a failed start.
    await app?.close();
    await blobs?.close();
    await store.close();
    throw err;
  }
  const started = { app, blobs };
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    config,
    close: () =>
      (closing ??= (async () => {
        await dispatcher.stop();
        await started.app.close();
        await started.blobs.close();
        await store.close();
      })()),
  };
}
