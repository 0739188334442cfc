// A throwaway PostgreSQL cluster for the store contract suites (docs/testing.md "PostgreSQL"):
// initdb into a temp folder, start on a free loopback port with fsync off, create `berth_test`,
// and stop and delete it all at the end.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** The folder holding initdb, pg_ctl and postgres: from PATH (through symlinks) or Debian's layout. */
export function pgBinDir() {
  const has = (dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)));
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const initdb = join(dir, 'initdb');
    if (!existsSync(initdb)) continue;
    const real = dirname(realpathSync(initdb));
    if (has(real)) return real;
  }
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => has(join(base, v, 'bin')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : undefined;
}

/**
 * initdb and postgres refuse to run as root: as root, run them as the `postgres` user (which
 * Debian's package creates) in a folder it owns.
 */
function pgRunner(dir) {
  if (process.getuid?.() !== 0) return (cmd, args) => [cmd, args];
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  if (uid.status !== 0) throw new Error("running as root, PostgreSQL needs a 'postgres' user to run as (useradd --system postgres)");
  chownSync(dir, Number(uid.stdout.trim()), Number(id('-g').stdout.trim()));
  if (spawnSync('runuser', ['--help'], { stdio: 'ignore' }).status === 0) return (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  const quote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
  return (cmd, args) => ['su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(quote).join(' ')]];
}

/**
 * Starts a PostgreSQL cluster on a free loopback port and creates `berth_test`; returns its URL.
 * `onCleanup` receives the stop and delete steps (run last-in first-out).
 */
export async function startPostgres(binDir, onCleanup) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const as = pgRunner(dir);
  const run = (name, args) => {
    const [cmd, argv] = as(join(binDir, name), args);
    return spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const logTail = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '');

  const init = run('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout || init.error?.message}`);

  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    // fsync off and a generous connection limit: a test cluster, thrown away after the run.
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    const start = run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', opts, 'start']);
    if (start.status === 0) break;
    if (attempt === 3) throw new Error(`pg_ctl start failed: ${start.stderr || start.stdout}\n${logTail()}`);
  }
  // Registered after the rm above, so it runs before it.
  onCleanup(() => run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']));

  const createdb = existsSync(join(binDir, 'createdb')) ? join(binDir, 'createdb') : 'createdb';
  const [cmd, argv] = as(createdb, ['-h', dir, '-p', String(port), '-U', 'postgres', 'berth_test']);
  const created = spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`createdb failed: ${created.stderr || created.error?.message}`);
  return `postgres://postgres@127.0.0.1:${port}/berth_test`;
}
