// The Python venvs of the suites that drive Python tools: `.venv-compat/` (the MLflow client,
// from e2e/compat/mlflow/requirements.txt), `.venv-hub/` (huggingface_hub and transformers, from
// e2e/compat/hub/requirements.txt: their pins conflict with mlflow's) and `.venv-fuzz/` (schemathesis, from
// e2e/fuzz/requirements.txt), each created with `python3 -m venv`. A stamp file in each holds
// the requirements it was installed from, so pip runs again only when they change.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MLFLOW = { dir: '.venv-compat', requirements: 'e2e/compat/mlflow/requirements.txt', what: 'the MLflow client' };
export const HUB = { dir: '.venv-hub', requirements: 'e2e/compat/hub/requirements.txt', what: 'the Hugging Face clients' };

/**
 * Makes sure the venv exists and holds the requirements; returns { python, bin } or
 * { unavailable: why }. `exec(cmd, args)` runs a command with visible output, resolving to its exit code.
 */
export async function ensureVenv(root, exec, { dir, requirements, what } = MLFLOW) {
  const reqFile = join(root, requirements);
  const venv = join(root, dir);
  const python = join(venv, 'bin', 'python');
  const stamp = join(venv, '.berth-requirements');
  const wanted = readFileSync(reqFile, 'utf8');
  if (!existsSync(python)) {
    if (spawnSync('python3', ['--version']).status !== 0) return { unavailable: 'python3 is not installed' };
    console.log(`creating ${dir} (python3 -m venv)`);
    if ((await exec('python3', ['-m', 'venv', venv])) !== 0) return { unavailable: 'python3 -m venv failed (apt-get install python3-venv)' };
  }
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
    console.log(`installing ${requirements} into ${dir} (pip; takes a minute the first time)`);
    const code = await exec(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', reqFile]);
    if (code !== 0) return { unavailable: `pip install of ${what} failed (see above)` };
    writeFileSync(stamp, wanted);
  }
  return { python, bin: join(venv, 'bin') };
}
