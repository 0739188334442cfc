import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../src/app.js';
import { openStore, type Store } from '../src/store/store.js';
import { FsBlobStore } from '../src/blobs/fs-blob-store.js';
import { PartStaging } from '../src/blobs/part-staging.js';
import { Registry } from '../src/registry/registry.js';
import { DEFAULT_REGISTRY_CONFIG, type RegistryConfig } from '../src/registry/deps.js';
import { systemClock, type Clock } from '../src/registry/actor.js';

export interface TestApp {
  app: FastifyInstance;
  registry: Registry;
  store: Store;
  blobs: FsBlobStore;
  dir: string;
  close(): Promise<void>;
}

/** A whole server (SQLite and a blob folder in a fresh temp dir) for HTTP tests through inject() or a real port. */
export async function openTestApp(
  prefix: string,
  opts: {
    clock?: Clock;
    auth?: boolean;
    bodyLimit?: number;
    logger?: AppOptions['logger'];
    guard?: Pick<AppOptions, 'publicUrl' | 'allowedHosts' | 'allowedOrigins'>;
    eventStream?: AppOptions['eventStream'];
    config?: Partial<RegistryConfig>;
    webRoot?: string;
  } = {},
): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
  const blobs = await FsBlobStore.open(join(dir, 'blobs'));
  const partStaging = new PartStaging(join(dir, 'blobs', 'multipart'));
  const registry = new Registry({ store, blobs, partStaging, clock: opts.clock ?? systemClock, config: { ...DEFAULT_REGISTRY_CONFIG, ...opts.config } });
  const app = await buildApp({
    registry,
    logger: opts.logger,
    ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}),
    ...opts.guard,
    authRequired: opts.auth ?? false,
    ...(opts.eventStream ? { eventStream: opts.eventStream } : {}),
    ...(opts.webRoot ? { webRoot: opts.webRoot } : {}),
  });
  return {
    app,
    registry,
    store,
    blobs,
    dir,
    async close() {
      await app.close();
      await blobs.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Calls an MLflow endpoint through inject(): GET with a query string, anything else with a JSON body. */
export function mlflowCaller(app: () => FastifyInstance) {
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the MLflow front answers, field by field
  return async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, args: Record<string, unknown> = {}): Promise<{ status: number; body: any }> => {
    const url = `/api/2.0/mlflow${path}`;
    const res =
      method === 'GET'
        ? await app().inject({ method, url, query: args as Record<string, string> })
        : await app().inject({ method, url, payload: args, headers: { 'content-type': 'application/json' } });
    return { status: res.statusCode, body: res.body ? res.json() : {} };
  };
}
