/** How long the first connection may take before start-up gives up. */
const CONNECT_TIMEOUT_MS = 800;

/**
 * Opens one connection with a short timeout and closes it: a wrong host otherwise waits for the
 * kernel's TCP timeout (minutes). Only `pg` loads here, so start-up can run it while the rest
 * of the store (Kysely, migrations) loads.
 */
export async function probePostgres(url: string): Promise<void> {
  const pg = (await import('pg')).default;
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  probe.on('error', () => {});
  try {
    await probe.connect();
  } finally {
    await probe.end().catch(() => {});
  }
}
