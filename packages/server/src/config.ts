import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BerthError, invalid } from '@berth/core';

/** Everything `berth server` can be told. Precedence: flags > BERTH_* environment > berth.yaml > defaults. */
export interface ServerConfig {
  host: string;
  port: number;
  /** Folder holding berth.db and blobs/ unless db / blobs say otherwise. */
  data: string;
  /** `sqlite:<path>` or `postgres://…`. */
  db: string;
  /** Blob folder. */
  blobs: string;
  bodyLimit: number;
  logLevel: string;
  /** Every request but /healthz needs a token even on loopback (`--auth`); a non-loopback listener always needs one. */
  auth: boolean;
  /** Allow a non-loopback listener without authentication (a proxy in front authenticates). */
  insecureNoAuth: boolean;
  /** The URL clients reach the server by (behind a proxy: the proxy's); unset: the listener's own address. */
  publicUrl?: string;
  /** Host names answered besides loopback and the public URL's; `*` for any (docs/api.md "Browser safety"). */
  allowedHosts: string[];
  /** Origins allowed to change the registry besides the server's own; `*` for any. */
  allowedOrigins: string[];
  /** Webhooks may call loopback, private and link-local addresses (a receiver inside the network). */
  webhookAllowPrivate: boolean;
  /** A version commit naming a pickle flagged unsafe fails (decision 0016). */
  refuseUnsafePickle: boolean;
}

export interface ServerOptions {
  host?: string;
  port?: number;
  data?: string;
  db?: string;
  blobs?: string;
  config?: string;
  bodyLimit?: number;
  logLevel?: string;
  auth?: boolean;
  insecureNoAuth?: boolean;
  publicUrl?: string;
  allowedHosts?: string;
  allowedOrigins?: string;
  refuseUnsafePickle?: boolean;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

const FILE_KEYS = [
  'host',
  'port',
  'data',
  'db',
  'blobs',
  'body_limit',
  'log_level',
  'auth',
  'insecure_no_auth',
  'public_url',
  'allowed_hosts',
  'allowed_origins',
  'webhooks',
  'uploads',
];

function readYaml(path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    // yaml's message carries a code frame over several lines; its first line names the spot
    throw invalid(`cannot read config file ${path}: ${(err as Error).message.split('\n')[0]?.replace(/:$/, '')}`, { field: 'config' });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`config file ${path} must be a mapping of settings`, { field: 'config' });
  const obj = doc as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !FILE_KEYS.includes(k));
  if (unknown.length) throw invalid(`config file ${path} has unknown setting(s) ${unknown.join(', ')}: known are ${FILE_KEYS.join(', ')}`, { field: 'config' });
  return obj;
}

function num(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw invalid(`${what} must be a whole number, not ${JSON.stringify(value)}`, { field: what });
  return n;
}

function bool(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return value === true || value === 1 || value === '1' || value === 'true' || value === 'yes';
}

/** A comma-separated string (flag, environment) or a YAML list. */
function list(value: unknown, what: string, check: (item: string) => string | undefined): string[] {
  if (value === undefined || value === null || value === '') return [];
  const items = (Array.isArray(value) ? value.map(String) : String(value).split(',')).map((v) => v.trim()).filter(Boolean);
  return items.map((item) => {
    const ok = item === '*' ? item : check(item);
    if (ok === undefined) {
      const like = what === 'allowed_hosts' ? 'a host name such as models.example.com' : 'an origin such as https://ui.example.com';
      throw invalid(`${what} has ${JSON.stringify(item)}, which is not ${like} (or *)`, { field: what });
    }
    return ok;
  });
}

function httpUrl(value: string): URL | undefined {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && !u.search && !u.hash ? u : undefined;
  } catch {
    return undefined;
  }
}

function publicUrl(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const u = httpUrl(String(value));
  if (!u) throw invalid(`public_url must be an http(s) URL such as https://models.example.com, not ${JSON.stringify(value)}`, { field: 'public_url' });
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** The `webhooks:` mapping of berth.yaml: `allow_private` is its one setting. */
function webhookSettings(value: unknown): { allow_private?: unknown } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('webhooks must be a mapping such as {allow_private: true}', { field: 'webhooks' });
  const unknown = Object.keys(value).filter((k) => k !== 'allow_private');
  if (unknown.length) throw invalid(`webhooks has unknown setting(s) ${unknown.join(', ')}: known is allow_private`, { field: 'webhooks' });
  return value as { allow_private?: unknown };
}

/** The `uploads:` mapping of berth.yaml: `refuse_unsafe_pickle` is its one setting. */
function uploadSettings(value: unknown): { refuse_unsafe_pickle?: unknown } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('uploads must be a mapping such as {refuse_unsafe_pickle: true}', { field: 'uploads' });
  const unknown = Object.keys(value).filter((k) => k !== 'refuse_unsafe_pickle');
  if (unknown.length) throw invalid(`uploads has unknown setting(s) ${unknown.join(', ')}: known is refuse_unsafe_pickle`, { field: 'uploads' });
  return value as { refuse_unsafe_pickle?: unknown };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function resolveConfig(opts: ServerOptions = {}): ServerConfig {
  const env = opts.env ?? {};
  const cwd = opts.cwd ?? process.cwd();
  const configPath = opts.config ?? env.BERTH_CONFIG ?? (existsSync(join(cwd, 'berth.yaml')) ? join(cwd, 'berth.yaml') : undefined);
  if (opts.config && !existsSync(resolve(cwd, opts.config))) throw invalid(`config file ${opts.config} does not exist`, { field: 'config' });
  const file = configPath ? readYaml(resolve(cwd, configPath)) : {};
  const pick = <T>(flag: T | undefined, envName: string, key: string): unknown =>
    flag ?? (env[envName] !== undefined && env[envName] !== '' ? env[envName] : undefined) ?? file[key];

  const data = resolve(cwd, String(pick(opts.data, 'BERTH_DATA', 'data') ?? '.berth'));
  const dbRaw = pick(opts.db, 'BERTH_DB', 'db');
  const db = dbRaw === undefined ? `sqlite:${join(data, 'berth.db')}` : String(dbRaw);
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(db))
    throw invalid(`--db must be sqlite:<path> or postgres://user@host/db, not ${JSON.stringify(db)}`, { field: 'db' });
  const blobs = resolve(cwd, String(pick(opts.blobs, 'BERTH_BLOBS', 'blobs') ?? join(data, 'blobs')));
  const port = num(pick(opts.port, 'BERTH_PORT', 'port'), 'port') ?? 7878;
  if (port > 65535) throw invalid(`port must be 0-65535, not ${port}`, { field: 'port' });
  return {
    host: String(pick(opts.host, 'BERTH_HOST', 'host') ?? '127.0.0.1'),
    port,
    data,
    db: db.startsWith('sqlite:') && db !== 'sqlite::memory:' ? `sqlite:${resolve(cwd, db.slice(7))}` : db,
    blobs,
    bodyLimit: num(pick(opts.bodyLimit, 'BERTH_BODY_LIMIT', 'body_limit'), 'body_limit') ?? 16 * 1024 * 1024,
    logLevel: String(pick(opts.logLevel, 'BERTH_LOG_LEVEL', 'log_level') ?? 'info'),
    auth: bool(pick(opts.auth, 'BERTH_AUTH', 'auth')) ?? false,
    insecureNoAuth: bool(pick(opts.insecureNoAuth, 'BERTH_INSECURE_NO_AUTH', 'insecure_no_auth')) ?? false,
    publicUrl: publicUrl(pick(opts.publicUrl, 'BERTH_PUBLIC_URL', 'public_url')),
    allowedHosts: list(pick(opts.allowedHosts, 'BERTH_ALLOWED_HOSTS', 'allowed_hosts'), 'allowed_hosts', (h) =>
      /^([a-z0-9-]+\.)*[a-z0-9-]+\.?$|^\[[0-9a-f:.]+\]$/i.test(h) ? h.toLowerCase().replace(/\.$/, '') : undefined,
    ),
    allowedOrigins: list(pick(opts.allowedOrigins, 'BERTH_ALLOWED_ORIGINS', 'allowed_origins'), 'allowed_origins', (o) => {
      const u = httpUrl(o);
      return u?.pathname === '/' ? u.origin : undefined;
    }),
    webhookAllowPrivate: bool(env.BERTH_WEBHOOK_ALLOW_PRIVATE || undefined) ?? bool(webhookSettings(file.webhooks).allow_private) ?? false,
    refuseUnsafePickle:
      opts.refuseUnsafePickle ?? bool(env.BERTH_REFUSE_UNSAFE_PICKLE || undefined) ?? bool(uploadSettings(file.uploads).refuse_unsafe_pickle) ?? false,
  };
}

/**
 * Whether every request but /healthz needs a valid token: with `--auth`, or on an address other
 * machines can reach unless `--insecure-no-auth` says a proxy in front authenticates.
 */
export function authRequired(cfg: ServerConfig): boolean {
  return cfg.auth || (!isLoopback(cfg.host) && !cfg.insecureNoAuth);
}

/**
 * Refuses a non-loopback listener that nobody could use safely: without `--insecure-no-auth`
 * it needs at least one active token (the first one is made on loopback, docs/decisions/0013).
 * Returns the warning to log when the listener is open to every client.
 */
export function checkListenSafety(cfg: ServerConfig, activeTokens: number): string | undefined {
  if (isLoopback(cfg.host)) return undefined;
  if (authRequired(cfg)) {
    if (activeTokens > 0) return undefined;
    throw new BerthError(
      'FAILED_PRECONDITION',
      `refusing to listen on ${cfg.host} without authentication: no token exists yet. Create one on loopback first ` +
        `(berth server, then berth token create admin --role admin), or pass --insecure-no-auth (BERTH_INSECURE_NO_AUTH=1) if a proxy in front authenticates`,
      { host: cfg.host },
    );
  }
  return `WARNING: listening on ${cfg.host} with authentication disabled (--insecure-no-auth): every client that can reach it has every role`;
}
