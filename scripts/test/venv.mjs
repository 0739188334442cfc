// The Python venv of the MLflow compatibility suite: `.venv-compat/`, created with
// `python3 -m venv` and filled from e2e/compat/mlflow/requirements.txt. A stamp file holds the
// requirements it was installed from, so pip runs again only when they change.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes sure the venv exists and holds the requirements; returns { python } or
 * { unavailable: why }. `exec(cmd, args)` runs a command with visible output, resolving to its exit code.
 */
export async function ensureVenv(root, exec) {
  const reqFile = join(root, 'e2e', 'compat', 'mlflow', 'requirements.txt');
  const venv = join(root, '.venv-compat');
  const python = join(venv, 'bin', 'python');
  const stamp = join(venv, '.berth-requirements');
  const wanted = readFileSync(reqFile, 'utf8');
  if (!existsSync(python)) {
    if (spawnSync('python3', ['--version']).status !== 0) return { unavailable: 'python3 is not installed' };
    console.log('creating .venv-compat (python3 -m venv)');
    if ((await exec('python3', ['-m', 'venv', venv])) !== 0) return { unavailable: 'python3 -m venv failed (apt-get install python3-venv)' };
  }
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
    console.log(`installing ${reqFile.slice(root.length + 1)} into .venv-compat (pip; takes a minute the first time)`);
    const code = await exec(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', reqFile]);
    if (code !== 0) return { unavailable: 'pip install of the MLflow client failed (see above)' };
    writeFileSync(stamp, wanted);
  }
  return { python };
}
