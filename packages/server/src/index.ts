export { startServer, type RunningServer } from './main.js';
export { buildApp, type AppOptions } from './app.js';
export { resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
export { openStore, type Store } from './store/store.js';
export { FsBlobStore } from './blobs/fs-blob-store.js';
export { Registry } from './registry/registry.js';
export { DEFAULT_REGISTRY_CONFIG, type RegistryConfig } from './registry/deps.js';
export { localActor, systemClock, type Actor, type Clock } from './registry/actor.js';
export { WebhookDispatcher, type DispatcherOptions } from './webhooks/dispatcher.js';
