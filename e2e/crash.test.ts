import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startBerth, tempDir } from './support.js';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe('crash safety', () => {
  it('leaves no visible blob and no READY version when the server is killed mid-upload', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      let server = await startBerth(dir);
      // 64 MiB of data whose hash we know; send half of it, then kill -9 the server.
      const chunk = randomBytes(1024 * 1024);
      const total = 64;
      const h = createHash('sha256');
      for (let i = 0; i < total; i++) h.update(chunk);
      const sha = h.digest('hex');
      const u = new URL(`${server.url}/api/v1/blobs/${sha}`);
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(total * chunk.length) },
      });
      req.on('error', () => {});
      for (let i = 0; i < total / 2; i++) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      // Wait until the server has written part of it into tmp/, then kill it hard.
      for (let i = 0; i < 100 && (await readdir(join(dir, 'blobs', 'tmp')).catch(() => [])).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await server.stop('SIGKILL');
      req.destroy();

      const blobPath = join(dir, 'blobs', 'sha256', sha.slice(0, 2), sha);
      assert.equal(await exists(blobPath), false, 'no half-written blob is visible');

      server = await startBerth(dir);
      const head = await fetch(`${server.url}/api/v1/blobs/${sha}`, { method: 'HEAD' });
      assert.equal(head.status, 404);
      const commit = await fetch(`${server.url}/api/v1/models/crashed/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ files: [{ path: 'weights.bin', size: total * chunk.length, sha256: sha }] }),
      });
      assert.equal(commit.status, 412, 'a commit that names the half-sent blob fails');
      const models = await (await fetch(`${server.url}/api/v1/models`)).json();
      assert.deepEqual(models.items, []);
      await server.stop();
    } finally {
      await cleanup();
    }
  });

  it('keeps every READY version whole and the audit chain valid when killed during commits', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      let server = await startBerth(dir);
      const url = server.url;
      const pushes: Promise<unknown>[] = [];
      let stop = false;
      for (let w = 0; w < 4; w++) {
        pushes.push(
          (async () => {
            for (let i = 0; !stop; i++) {
              const content = `worker ${w} file ${i} ${randomBytes(8).toString('hex')}`;
              const sha = createHash('sha256').update(content).digest('hex');
              try {
                await fetch(`${url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: content });
                await fetch(`${url}/api/v1/models/kill-${w}/versions`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ files: [{ path: 'f.txt', size: Buffer.byteLength(content), sha256: sha }] }),
                });
              } catch {
                return;
              }
            }
          })(),
        );
      }
      await new Promise((r) => setTimeout(r, 1500));
      await server.stop('SIGKILL');
      stop = true;
      await Promise.all(pushes);

      server = await startBerth(dir);
      const verify = await (await fetch(`${server.url}/api/v1/audit/verify`)).json();
      assert.equal(verify.ok, true, JSON.stringify(verify));
      let versions = 0;
      for (let w = 0; w < 4; w++) {
        const res = await fetch(`${server.url}/api/v1/models/kill-${w}/versions?limit=1000`);
        if (res.status === 404) continue;
        for (const v of (await res.json()).items) {
          assert.equal(v.status, 'READY');
          const full = await (await fetch(`${server.url}/api/v1/models/kill-${w}/versions/${v.version}`)).json();
          for (const f of full.files) {
            const body = Buffer.from(await (await fetch(`${server.url}/api/v1/blobs/${f.sha256}`)).arrayBuffer());
            assert.equal(createHash('sha256').update(body).digest('hex'), f.sha256);
          }
          versions++;
        }
      }
      assert.ok(versions > 0, 'some versions were committed before the kill');
      await server.stop();
    } finally {
      await cleanup();
    }
  });
});
