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
