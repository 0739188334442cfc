#!/usr/bin/env node
// `npm run lint`: every static check, each run even when an earlier one failed, so one run
// shows every finding. Exits non-zero when any failed. docs/testing.md "Static checks".
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const tool = (name) => join(root, 'node_modules', '.bin', name);

const checks = [
  ['format (biome format)', tool('biome'), ['format', '.']],
  ['lint (biome lint)', tool('biome'), ['lint', '--error-on-warnings', '.']],
  ['layering (scripts/check-layers.mjs)', process.execPath, ['scripts/check-layers.mjs']],
  ['dependency rules (dependency-cruiser)', tool('depcruise'), ['--output-type', 'err-long', 'packages', 'scripts', 'bench', 'e2e']],
  ['unused files, exports and dependencies (knip)', tool('knip'), []],
];

function run(cmd, args) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
    child.once('error', (err) => {
      console.error(`cannot run ${cmd}: ${err.message} (run npm ci first)`);
      res(127);
    });
    child.once('exit', (code, signal) => res(code ?? (signal ? 1 : 0)));
  });
}

const results = [];
for (const [name, cmd, args] of checks) {
  console.log(`\n== ${name}`);
  results.push({ name, code: await run(cmd, args) });
}
console.log('\n== lint summary');
for (const r of results) console.log(`  ${r.code === 0 ? 'ok    ' : 'FAILED'}  ${r.name}`);
const failed = results.filter((r) => r.code !== 0);
if (failed.length) {
  console.error(`npm run lint: ${failed.length} of ${results.length} checks failed`);
  process.exit(1);
}
console.log('npm run lint: OK');
