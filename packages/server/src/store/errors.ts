import { BerthError } from '@berth/core';

/**
 * Foreign database errors are translated here, once, at the store edge (CONVENTIONS "Errors").
 * SQLite: better-sqlite3's `code` (SQLITE_CONSTRAINT_UNIQUE …); PostgreSQL: SQLSTATE (23505 …).
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}

export function isSerializationFailure(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY';
}

export function translateStoreError(err: unknown): unknown {
  if (err instanceof BerthError) return err;
  if (isUniqueViolation(err)) return new BerthError('ALREADY_EXISTS', 'the record already exists', {});
  if (isForeignKeyViolation(err)) {
    return new BerthError('FAILED_PRECONDITION', 'the change refers to a record that does not exist or is still referenced', {});
  }
  return err;
}

/** Runs an insert; a unique violation becomes the BerthError the caller names, others pass. */
export async function uniquely<T>(op: Promise<T>, onDuplicate: () => BerthError): Promise<T> {
  try {
    return await op;
  } catch (err) {
    if (isUniqueViolation(err)) throw onDuplicate();
    throw err;
  }
}

/** Socket and resolver errors of a database connection, in words a user can act on. */
const CONNECT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name cannot be resolved now',
  ETIMEDOUT: 'no answer in time',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the server closed the connection',
  '28P01': 'the password was refused',
  '28000': 'the user is not allowed in',
  '3D000': 'the database does not exist',
  '57P03': 'the server is starting up or shutting down',
};

/**
 * A database that cannot be opened at start-up, as one line that says what to check. The URL's
 * password never appears; the driver's own text follows where no better words are known.
 */
export function translateOpenError(url: string, err: unknown): unknown {
  if (err instanceof BerthError) return err;
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const raw = typeof e?.message === 'string' && e.message ? (e.message.split('\n')[0] ?? e.message) : String(code ?? err);
  if (/^postgres(ql)?:\/\//.test(url)) {
    let where = 'the PostgreSQL server';
    try {
      const u = new URL(url);
      where = `PostgreSQL at ${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname.length > 1 ? u.pathname : ''}`;
    } catch {
      // an unparsable URL: pg's message below says what is wrong with it
    }
    const reason =
      (code && CONNECT_REASONS[code]) ??
      (/timeout/i.test(raw)
        ? 'no answer in time'
        : /terminated unexpectedly/i.test(raw)
          ? 'the connection closed before PostgreSQL answered (is PostgreSQL listening on that port?)'
          : raw);
    return new BerthError('FAILED_PRECONDITION', `cannot connect to ${where}: ${reason}; check that it runs and that --db (BERTH_DB) is right`, {
      field: 'db',
      ...(code ? { cause: code } : {}),
    });
  }
  const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  return new BerthError('FAILED_PRECONDITION', `cannot open the SQLite database ${file}: ${raw}${code ? ` (${code})` : ''}; check --db or --data`, {
    field: 'db',
    ...(code ? { cause: code } : {}),
  });
}
