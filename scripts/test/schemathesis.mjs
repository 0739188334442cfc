// The schemathesis step of `npm test`: start the real `berth server` on a loopback port with a
// temp data folder and fuzz the native API from its own OpenAPI document
// (/api/v1/openapi.json). Fails on any response >= 500, any request that hangs past the
// timeout, any response outside its documented schema, status or content type, and when
// schemathesis cannot load the document.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

/** The checks: 0 responses >= 500, 0 responses that break their own schema, status or content type. */
const CHECKS = ['not_a_server_error', 'response_schema_conformance', 'status_code_conformance', 'content_type_conformance'];

function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(raw)}`);
  return n;
}

/** The run's knobs, from the environment (docs/testing.md). */
export function schemathesisSettings() {
  return {
    examples: positive('BERTH_SCHEMATHESIS_EXAMPLES', 25),
    maxTime: positive('BERTH_SCHEMATHESIS_SECONDS', 90),
    seed: positive('BERTH_FUZZ_SEED', 20261130),
  };
}

/** Starts `berth server` on 127.0.0.1, a free port and a fresh data folder; resolves to { url, stop }. */
export function startServer(root, work, env) {
  const data = mkdtempSync(join(work, 'schemathesis-data-'));
  const proc = spawn(process.execPath, [join(root, 'packages/cli/bin/berth.js'), 'server', '--host', '127.0.0.1', '--port', '0', '--data', data], {
    cwd: root,
    env: { ...env, BERTH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`berth server did not start in 20 s: ${out}`));
    }, 20_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop, proc });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth server exited with ${code} before listening: ${out}`));
    });
  });
}

/** Runs schemathesis, echoing its output; resolves to { code, output }. */
export function runSchemathesis(bin, url, work, settings, env) {
  const args = [
    'run',
    `${url}/api/v1/openapi.json`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(settings.examples),
    '--max-time',
    String(settings.maxTime),
    // A request without an answer in 10 s is a hang, reported as a failure.
    '--request-timeout',
    '10',
    '--max-response-time',
    '10',
    '--seed',
    String(settings.seed),
    '--workers',
    '2',
    '--wait-for-schema',
    '10',
    // Path parameters (names, aliases, file paths) are strings the generator must keep free of
    // '/', '?' and '#'; it drops many and would report that instead of fuzzing.
    '--suppress-health-check',
    'filter_too_much,too_slow',
    '--no-color',
  ];
  return new Promise((resolve) => {
    // Its working folder is the run's temp folder: schemathesis and Hypothesis write caches there.
    const child = spawn(join(bin, 'schemathesis'), args, { cwd: work, env: { ...env, NO_COLOR: '1', COLUMNS: '120' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const echo = (stream) => (d) => {
      output += d;
      stream.write(d);
    };
    child.stdout.on('data', echo(process.stdout));
    child.stderr.on('data', echo(process.stderr));
    child.once('error', (err) => resolve({ code: 127, output: `cannot run schemathesis: ${err.message}` }));
    child.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** The figures of a run, read from schemathesis's summary. */
export function schemathesisFigures(output) {
  const num = (re) => {
    const m = re.exec(output);
    return m ? Number(m[1]) : undefined;
  };
  return {
    operations: num(/Tested:\s*(\d+)/),
    selected: num(/Selected:\s*\d+\/(\d+)/),
    examples: num(/(\d+) generated/),
    failures: num(/(\d+) failures?\b/) ?? 0,
    errors: num(/(\d+) errors?\b/) ?? 0,
  };
}
