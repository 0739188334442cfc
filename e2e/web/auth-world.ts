import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BerthClient } from '@berth/sdk';
import { startBerth, tempDir } from '../support.js';
import { startUi, type UiWorld } from './support.js';

export const ROLES = { root: 'admin', releaser: 'approver', ci: 'editor', reader: 'viewer' } as const;
export type TokenName = keyof typeof ROLES;

export interface AuthWorld extends UiWorld {
  /** The secret of each token, by name. */
  tokens: Record<TokenName, string>;
  /** An SDK client signed in as `name`. */
  as(name: TokenName): BerthClient;
}

/** A version of `model` whose only file holds `content`, uploaded inline. */
export async function pushVersion(c: BerthClient, model: string, content: string): Promise<number> {
  const sha256 = createHash('sha256').update(content).digest('hex');
  const v = await c.createVersion(model, {
    files: [{ path: 'weights.bin', size: Buffer.byteLength(content), sha256 }],
    blobs: [{ sha256, base64: Buffer.from(content).toString('base64') }],
  });
  return v.version;
}

/**
 * A server with auth on (`--auth`) and one token per role. The first tokens are made on loopback
 * before auth is switched on, as an admin does (decision 0013); `seed` runs then too, as the
 * admin. The UI server reads the same data folder: its later `--data` wins over startUi's own.
 */
export async function startAuthUi(seed: (admin: BerthClient) => Promise<void>, env: Record<string, string> = {}): Promise<AuthWorld> {
  const tmp = await tempDir('berth-web-auth-');
  const data = join(tmp.dir, 'data');
  const open = await startBerth(data, [], env);
  const tokens = {} as Record<TokenName, string>;
  try {
    const local = new BerthClient({ url: open.url });
    for (const [name, role] of Object.entries(ROLES) as [TokenName, (typeof ROLES)[TokenName]][]) {
      tokens[name] = (await local.createToken({ name, role })).token;
    }
    await seed(local);
  } finally {
    await open.stop();
  }
  const w = await startUi({ serverArgs: ['--auth', '--data', data], env, token: tokens.root });
  return {
    ...w,
    tokens,
    as: (name) => new BerthClient({ url: w.url, token: tokens[name] }),
    async stop() {
      await w.stop();
      await tmp.cleanup();
    },
  };
}
