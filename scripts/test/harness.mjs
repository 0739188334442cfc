// The step runner of `npm test`: runs child processes with inherited output, records each step
// as ok, FAILED or skipped, runs cleanups on every way out (exit, failure, Ctrl-C/SIGTERM), and
// prints the summary that ends with the plain closing line CI reads.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const root = resolve(new URL('../..', import.meta.url).pathname);

/** A step that failed for a reason already explained: the summary shows the message, not a stack. */
export class StepFailure extends Error {}

const started = Date.now();
const results = []; // { name, status: 'ok' | 'FAILED' | 'skipped', seconds, note }
const cleanups = [];
let current; // the running child process, killed on SIGINT/SIGTERM
/** Test counts for the closing line: { passed, failed, skipped, todo, failures: string[] }. */
let counts;

/** Registers a cleanup; they run last-in first-out. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

export function addCounts(more) {
  if (!counts) counts = { passed: 0, failed: 0, skipped: 0, todo: 0, failures: [] };
  counts.passed += more.passed ?? 0;
  counts.failed += more.failed ?? 0;
  counts.skipped += more.skipped ?? 0;
  counts.todo += more.todo ?? 0;
  counts.failures.push(...(more.failures ?? []));
}

function cleanup() {
  while (cleanups.length) {
    try {
      cleanups.pop()();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
}
process.on('exit', cleanup);
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
]) {
  process.on(sig, () => {
    if (current && current.exitCode === null) current.kill(sig);
    finish(code, `interrupted by ${sig}`);
  });
}

/** Runs a command with inherited stdio; resolves to its exit code (a signal counts as 1). */
export function exec(cmd, args, opts = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
    current = child;
    child.once('error', (err) => {
      console.error(`cannot run ${cmd}: ${err.message}`);
      res(127);
    });
    child.once('exit', (code, signal) => res(code ?? (signal ? 1 : 0)));
  });
}

export async function mustExec(what, cmd, args, opts) {
  const code = await exec(cmd, args, opts);
  if (code !== 0) throw new StepFailure(`${what} exited with ${code}`);
}

/** A tool installed by `npm ci` (node_modules/.bin). */
export function bin(name) {
  const p = join(root, 'node_modules', '.bin', name);
  if (!existsSync(p)) throw new StepFailure(`${p} is missing: run npm ci first`);
  return p;
}

/** Runs one step; `fn` may return { status: 'skipped', note }. A failure ends the run. */
export async function step(name, fn) {
  console.log(`\n== ${name}`);
  const t0 = Date.now();
  const seconds = () => (Date.now() - t0) / 1000;
  try {
    const out = (await fn()) ?? {};
    results.push({ name, status: out.status ?? 'ok', seconds: seconds(), note: out.note });
  } catch (err) {
    const note = err instanceof StepFailure ? err.message : (err?.stack ?? String(err));
    results.push({ name, status: 'FAILED', seconds: seconds(), note });
    finish(1, `${name}: ${note}`);
  }
}

export function skipped(name, note) {
  results.push({ name, status: 'skipped', seconds: 0, note });
}

export function finish(code, message) {
  console.log('\n== summary');
  for (const r of results) console.log(`  ${r.status.padEnd(8)} ${r.name.padEnd(46)} ${r.seconds.toFixed(1).padStart(6)} s${r.note ? `  ${r.note}` : ''}`);
  if (counts?.failures.length) {
    console.log('  failed tests:');
    for (const name of counts.failures.slice(0, 30)) console.log(`    ✖ ${name}`);
    if (counts.failures.length > 30) console.log(`    … and ${counts.failures.length - 30} more`);
  }
  const total = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  if (code === 0) console.log(`npm test: OK in ${total}`);
  else console.error(`npm test: FAILED in ${total}: ${message}`);
  // The plain closing line CI tools read: 'N passed, N failed'.
  if (counts) console.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  cleanup();
  process.exit(code);
}
