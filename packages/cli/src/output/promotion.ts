import { formatGateReport, type Promotion } from '@berth/core';
import { kv, when } from './format.js';

/** What happened to a promotion, in one line: the move, the wait for approvals, or the refusal. */
export function outcomeLine(p: Promotion): string {
  const ref = `${p.model}@${p.alias}`;
  const policy = p.policy ? `, policy ${p.policy.name} v${p.policy.version}` : '';
  switch (p.state) {
    case 'passed':
      return p.kind === 'rollback'
        ? `${ref} -> ${p.version} (rolled back from ${p.previous_version ?? 'unset'}; ${p.id})`
        : `${ref} -> ${p.version} (promotion ${p.id}${policy})`;
    case 'pending': {
      const missing = p.required_approvals - p.approvals.length;
      return `promotion ${p.id} of ${p.model}:${p.version} to ${p.alias} is pending: ${missing} of ${p.required_approvals} approval(s) missing; approve with \`berth approve ${p.id}\``;
    }
    case 'failed':
      return `promotion ${p.id} of ${p.model}:${p.version} to ${p.alias} failed its gates; ${ref} did not move`;
    case 'rejected':
      return `promotion ${p.id} of ${p.model}:${p.version} to ${p.alias} was rejected; ${ref} did not move`;
    default:
      return `promotion ${p.id} of ${p.model}:${p.version} to ${p.alias} is stale: ${p.alias} moved since it was requested; request it again`;
  }
}

/** A promotion in full: what, who, the gate report and every approval. */
export function promotionDetails(p: Promotion): string {
  const lines = [
    kv([
      ['promotion', p.id],
      ['kind', p.kind],
      ['state', p.state],
      ['model', p.model],
      ['version', p.version],
      ['alias', `${p.alias} (held ${p.previous_version ?? 'nothing'} when requested)`],
      ['policy', p.policy ? `${p.policy.name} v${p.policy.version} ${p.policy.digest}` : '-'],
      ['requested', `${when(p.created_at)} by ${p.requested_by}`],
      ['reason', p.reason ?? '-'],
      ['decided', when(p.decided_at)],
      ['approvals', `${p.approvals.length} of ${p.required_approvals}`],
    ]).trimEnd(),
  ];
  for (const a of p.approvals) lines.push(`  ${when(a.at)} ${a.by}${a.reason ? `: ${a.reason}` : ''}`);
  if (p.report) lines.push('gates:', ...formatGateReport(p.report).map((l) => `  ${l}`));
  lines.push(outcomeLine(p));
  return lines.join('\n');
}
