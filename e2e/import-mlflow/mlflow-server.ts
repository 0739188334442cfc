import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../support.js';

const VENV = join(ROOT, '.venv-compat');
const MLFLOW = join(VENV, 'bin', 'mlflow');
const PYTHON = join(VENV, 'bin', 'python');
const SEED = join(ROOT, 'e2e', 'import-mlflow', 'seed.py');

/**
 * Why a real `mlflow server` cannot run here, or undefined when it can. Under
 * BERTH_REQUIRE_ALL=1 (CI) a missing venv throws, so the suite fails instead of skipping.
 */
export function mlflowMissing(): string | undefined {
  if (existsSync(MLFLOW) && existsSync(PYTHON)) return undefined;
  const why = `no mlflow in ${VENV} (\`npm test -- compat\` creates it from e2e/compat/mlflow/requirements.txt)`;
  if (process.env.BERTH_REQUIRE_ALL === '1') throw new Error(`a real mlflow server is required (BERTH_REQUIRE_ALL=1) but ${why}`);
  return why;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

export interface MlflowServer {
  url: string;
  port: number;
  /** Kills the server's whole process group at once (SIGKILL): it disappears mid-request. */
  kill(): Promise<void>;
}

/**
 * `mlflow server` on loopback with its SQLite store and proxied artifacts in `dir`, in its own
 * process group (it forks workers), started again on the same port and data by calling this
 * again with that port.
 */
export async function startMlflow(dir: string, port?: number): Promise<MlflowServer> {
  const p = port ?? (await freePort());
  const proc: ChildProcess = spawn(
    MLFLOW,
    [
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(p),
      '--workers',
      '1',
      '--backend-store-uri',
      `sqlite:///${dir}/mlflow.db`,
      '--serve-artifacts',
      '--artifacts-destination',
      `${dir}/artifacts`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let err = '';
  proc.stderr?.on('data', (d) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${p}`;
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    process.kill(-(proc.pid as number), 'SIGKILL');
    await exited;
    // the workers share the group; wait until nothing answers on the port any more
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${url}/health`);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  for (let i = 0; i < 600; i++) {
    if (proc.exitCode !== null) throw new Error(`mlflow server exited with ${proc.exitCode}: ${err}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, port: p, kill };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  await kill();
  throw new Error(`mlflow server did not start in 60 s: ${err}`);
}

/** Runs e2e/import-mlflow/seed.py (the real MLflow client) against `url`; resolves to what it printed. */
export function seedMlflow(url: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, [SEED, ...args], {
    env: { ...process.env, MLFLOW_TRACKING_URI: url, GIT_PYTHON_REFRESH: 'quiet' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`seed.py ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
