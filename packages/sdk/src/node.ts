/**
 * `@berth/sdk/node`: the SDK's file-system workflows and transport, for Node only. Push a
 * folder as a version (node/push.ts), pull a version into a folder (node/pull.ts), and
 * `nodeFetch`, a transport over node:http(s) keep-alive (node/transport.ts). Bytes stream in
 * bounded chunks whatever the file size, so memory stays flat (CONVENTIONS "Habits" 10).
 */
export { nodeBody, nodeFetch } from './node/transport.js';
export type { Progress } from './node/progress.js';
export { listFiles, type LocalFile } from './node/walk.js';
export { pushDirectory, type PushOptions, type PushResult } from './node/push.js';
export { PARTIAL_DIR, partialName, pullVersion, type PullOptions, type PullResult } from './node/pull.js';
export { pullBundle, type BundlePullResult } from './node/bundle.js';
