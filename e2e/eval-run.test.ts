import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, berth, startBerth, tempDir, type ServerHandle } from './support.js';

/** Ended: no such process, or a zombie its new parent has not reaped yet (PID 1 in a container may never). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (/\) Z /.test(stat)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('berth eval run on the real binary', () => {
  let server: ServerHandle;
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    server = await startBerth(join(dir, 'data'));
    await mkdir(join(dir, 'model'));
    await writeFile(join(dir, 'model/weights.bin'), 'weights');
    const push = await berth(['push', './model', '--model', 'chatbot'], { url: server.url, cwd: dir });
    assert.equal(push.code, 0, push.stderr);
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops the command and everything it started on ${signal}, records nothing and removes the pulled copy`, async () => {
      const tmp = join(dir, `tmp-${signal}`);
      await mkdir(tmp);
      const pidFile = join(dir, `pid-${signal}`);
      // `&&` makes the shell fork the node process instead of replacing itself with it.
      const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 60000)`;
      const command = `${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)} && echo done`;
      const proc = spawn(process.execPath, [BIN, 'eval', 'run', 'chatbot:1', '--command', command], {
        cwd: dir,
        env: { ...process.env, BERTH_URL: server.url, TMPDIR: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      const exited = once(proc, 'exit');
      let pid = 0;
      for (let i = 0; i < 200 && !pid; i++) {
        pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
        if (!pid) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(pid > 0, `the command started: ${stderr}`);
      assert.equal((await readdir(tmp)).length, 1, 'the version was pulled into a temporary folder');
      proc.kill(signal);
      const [code] = await exited;
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`error: the command was killed by ${signal}; nothing was recorded for chatbot:1`));
      assert.deepEqual(await readdir(tmp), [], 'the pulled copy is removed');
      assert.ok(await gone(pid), 'the process the shell started is gone too');
      const evaluations = await berth(['eval', 'ls', 'chatbot:1', '--json'], { url: server.url });
      assert.deepEqual(JSON.parse(evaluations.stdout), []);
    });
  }
});
