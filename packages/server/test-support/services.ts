import type { TestContext } from 'node:test';

/**
 * Tests that need an outside service (PostgreSQL today) get it from the environment that
 * `scripts/test.mjs` prepares. Without it they skip with the reason, except under
 * BERTH_REQUIRE_ALL=1 (CI), where a missing service is a failure: a suite that silently
 * skips in CI is a suite that never runs.
 */
export function requireAll(): boolean {
  return process.env.BERTH_REQUIRE_ALL === '1';
}

const PG_MISSING = 'BERTH_TEST_PG_URL is not set (npm test starts a throwaway PostgreSQL when its binaries are installed; see docs/testing.md)';

/**
 * Why the PostgreSQL suites cannot run here, or undefined when they can. For suite-level
 * skips: `describe('store on postgres', { skip: pgSkipReason() }, ...)`. Throws under
 * BERTH_REQUIRE_ALL=1, which fails the file instead of skipping it.
 */
export function pgSkipReason(): string | undefined {
  if (process.env.BERTH_TEST_PG_URL) return undefined;
  if (requireAll()) throw new Error(`PostgreSQL is required (BERTH_REQUIRE_ALL=1) but ${PG_MISSING}`);
  return PG_MISSING;
}

/**
 * The PostgreSQL URL for a test, or undefined after marking the test skipped; the caller
 * returns at once when it gets undefined. Under BERTH_REQUIRE_ALL=1 a missing URL throws,
 * so the test fails.
 * @public the documented way for a test to ask for PostgreSQL (docs/testing.md)
 */
export function pgUrlOrSkip(t: Pick<TestContext, 'skip'>): string | undefined {
  const reason = pgSkipReason();
  if (reason === undefined) return process.env.BERTH_TEST_PG_URL as string;
  t.skip(reason);
  return undefined;
}
