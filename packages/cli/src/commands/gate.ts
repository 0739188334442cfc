import { evaluateGates, formatGateReport, type GateEvidence, type PolicyDocument } from '@berth/core';
import { parse, parseVersionNumber } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { readPolicyFile } from './policy.js';

const USAGE = `usage: berth gate check <ref> --policy NAME [--policy-version N]
       berth gate check <ref> --policy-file FILE.yaml
Evaluates a policy's gates for a version (name:12, name@challenger) here, with the same function
the server's promote uses, on the evidence the server holds (recorded evaluations, source-run
metrics, the compare_to aliases' holders). Nothing is stored and nothing moves: run it in CI
before \`berth promote\`. --policy-file checks a policy that is not applied yet.
exit codes: 0 every gate passed, 1 a gate failed, 2 usage or invalid policy file, 3 not found.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { policy: { type: 'string' }, 'policy-version': { type: 'string' }, 'policy-file': { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, ref] = positionals;
  if (sub !== 'check') throw new UsageError(sub ? `unknown gate command ${JSON.stringify(sub)}` : 'give a gate command: check', USAGE);
  if (positionals.length !== 2 || !ref) throw new UsageError('gate check takes one version reference (name:12 or name@alias)', USAGE);
  const name = values.policy as string | undefined;
  const file = values['policy-file'] as string | undefined;
  if (!name === !file) throw new UsageError('give either --policy NAME or --policy-file FILE.yaml', USAGE);
  if (file && values['policy-version'] !== undefined) throw new UsageError('--policy-version goes with --policy, not --policy-file', USAGE);
  const policyVersion = values['policy-version'] === undefined ? undefined : parseVersionNumber(values['policy-version'] as string, '--policy-version', USAGE);
  const local = file ? await readPolicyFile(ctx, file) : undefined;
  const client = ctx.client();
  const v = await client.resolve(ref);

  let document: PolicyDocument;
  let evidence: GateEvidence;
  let applied: { name: string; version: number | null; digest: string | null };
  if (local) {
    // The server assembles the evidence for the draft exactly as a promotion would; the gates run here.
    ({ document, evidence } = await client.draftGateEvidence(v.model, v.version, local.yaml));
    applied = { name: document.policy, version: null, digest: null };
  } else {
    const answer = await client.gateEvidence(v.model, v.version, { policy: name ?? '', policyVersion });
    document = answer.policy.document;
    evidence = answer.evidence;
    applied = { name: answer.policy.name, version: answer.policy.version, digest: answer.policy.digest };
  }

  const report = evaluateGates(document, evidence);
  if (ctx.json) {
    ctx.printJson({ model: v.model, version: v.version, policy: applied, report });
  } else {
    ctx.print(formatGateReport(report).join('\n'));
    const failed = report.gates.filter((g) => !g.passed).length;
    ctx.print(
      report.passed
        ? `${v.model}:${v.version} passes ${document.policy} (${report.gates.length} gate(s))`
        : `${v.model}:${v.version} fails ${document.policy}: ${failed} of ${report.gates.length} gate(s) failed`,
    );
  }
  return report.passed ? 0 : 1;
}
