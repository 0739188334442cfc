import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BACKENDS } from '../../test-support/backends.js';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from './registry.js';
import { DEFAULT_REGISTRY_CONFIG } from './deps.js';
import { localActor } from './actor.js';
import { FakeClock, expectCode } from '../../test-support/expect.js';

const admin = localActor('admin');

for (const backend of BACKENDS) {
  describe(`deployment report history on ${backend.name}`, { skip: backend.unavailable }, () => {
    let reg: Registry;
    let cleanup: () => Promise<void>;
    const clock = new FakeClock(Date.parse('2026-03-08T14:00:00Z'));
    const t0 = clock.t - 600_000;
    const iso = (ms: number) => new Date(ms).toISOString();

    before(async () => {
      const opened = await backend.open();
      const blobs = await FsBlobStore.open(`${opened.dir}/blobs`);
      reg = new Registry({ store: opened.store, blobs, clock, config: DEFAULT_REGISTRY_CONFIG });
      cleanup = async () => {
        await blobs.close();
        await opened.cleanup();
      };
      const data = Buffer.from('weights');
      const h = createHash('sha256').update(data).digest('hex');
      await reg.blobs.put(admin, h, Readable.from([data]));
      await reg.versions.create(admin, 'hist-bot', { files: [{ path: 'w.bin', size: data.length, sha256: h }] });
      await reg.aliases.set(admin, 'hist-bot', 'champion', { version: 1 });
      await reg.deployments.apply(
        admin,
        'deployment: hist\nmodel: hist-bot\nstrategy: single\nstable: champion\nupstreams: [{versions: "*", url: "http://127.0.0.1:9/v1"}]\n',
      );
      // Three gateways end a window at the same millisecond: the keyset must not lose one between pages.
      for (const [gateway, end] of [
        ['a', 10_000],
        ['b', 20_000],
        ['c', 20_000],
        ['d', 20_000],
        ['a', 30_000],
      ] as const) {
        await reg.deployments.reportServed(admin, 'hist', { gateway, from: iso(t0 + end - 10_000), to: iso(t0 + end), versions: [] });
      }
    });
    after(async () => cleanup?.());

    it('pages reports newest first within [since, until], ties by arrival', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await reg.deployments.listReports('hist', { since: iso(t0 + 20_000), limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((r) => `${r.gateway}@${r.to - t0}`));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      assert.deepEqual(seen, ['a@30000', 'd@20000', 'c@20000', 'b@20000']);
      const until = await reg.deployments.listReports('hist', { until: iso(t0 + 10_000) });
      assert.deepEqual(
        until.items.map((r) => r.gateway),
        ['a'],
      );
      await expectCode(reg.deployments.listReports('hist', { since: 'x' }), 'INVALID_ARGUMENT', /since/);
      await expectCode(reg.deployments.listReports('nope', {}), 'NOT_FOUND');
    });
  });
}
