import type { Promotion } from '@berth/core';

/**
 * A promotion as it stood at `at` (ISO time): undefined when it did not exist yet; pending when
 * it was decided only later (approvals were still awaited then); else its state now.
 */
export function promotionAt(p: Promotion, at: string | null): Promotion | undefined {
  if (at === null) return p;
  const t = Date.parse(at);
  if (Date.parse(p.created_at) > t) return undefined;
  if (p.decided_at !== null && Date.parse(p.decided_at) > t)
    return { ...p, state: 'pending', decided_at: null, approvals: p.approvals.filter((a) => Date.parse(a.at) <= t) };
  return p;
}
