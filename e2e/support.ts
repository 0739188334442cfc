import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'packages/cli/bin/berth.js');

export interface ServerHandle {
  url: string;
  proc: ChildProcess;
  data: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the real `berth server` binary on a free port and waits for /healthz. */
export async function startBerth(data: string | null, extra: string[] = [], env: Record<string, string> = {}, cwd = ROOT): Promise<ServerHandle> {
  const args = [BIN, 'server', '--host', '127.0.0.1', '--port', '0', ...(data === null ? [] : ['--data', data]), ...extra];
  const proc = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`berth server did not start in 20 s\nstdout: ${out}\nstderr: ${err}`)), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`berth server exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    proc,
    data: data ?? '',
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const [code] = await once(proc, 'exit');
      return code as number | null;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `berth` CLI. */
export async function berth(args: string[], opts: { url?: string; cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...(opts.url ? { BERTH_URL: opts.url } : {}), ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(proc, 'exit');
  return { code: code as number, stdout, stderr };
}

export async function tempDir(prefix = 'berth-e2e-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
