import { join } from 'node:path';
import { openStore } from './store/store.js';
import { FsBlobStore } from './blobs/fs-blob-store.js';
import { PartStaging } from './blobs/part-staging.js';
import { Registry } from './registry/registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './registry/deps.js';
import { systemClock } from './registry/actor.js';
import { buildApp } from './app.js';
import { checkListenSafety, resolveConfig, type ServerConfig, type ServerOptions } from './config.js';

export interface RunningServer {
  url: string;
  config: ServerConfig;
  close(): Promise<void>;
}

/**
 * The composition root: the one place that reads configuration, opens the stores and
 * listens. `berth server` calls it; so do the end-to-end tests, through the real binary.
 */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const config = resolveConfig({ ...opts, env: opts.env ?? process.env });
  const warning = checkListenSafety(config);
  const store = await openStore(config.db);
  const blobs = await FsBlobStore.open(config.blobs);
  await blobs.cleanTemp(3600 * 1000);
  // Multipart parts wait beside the blobs they become, on the same disk.
  const partStaging = new PartStaging(join(blobs.root, 'multipart'));
  const registry = new Registry({ store, blobs, partStaging, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG });
  const app = await buildApp({
    registry,
    bodyLimit: config.bodyLimit,
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
  });
  if (warning) app.log.warn(warning);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close();
    await store.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    config,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await blobs.close();
        await store.close();
      })()),
  };
}
