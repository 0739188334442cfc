import { BerthError, evaluateGates, formatGateReport, type GateEvidence, type GateSubject, type PolicyDocument, type Version } from '@berth/core';
import type { BerthClient } from '@berth/sdk';
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

/** How many evaluations of a version the server's evidence carries, newest first (evaluations-service EVIDENCE_EVALUATIONS). */
const EVIDENCE_EVALUATIONS = 500;

/**
 * The evidence for a policy the server does not hold yet (`--policy-file`): gate-evidence takes
 * only an applied policy, so this reads what the server's assembleGateEvidence reads, through
 * the public routes: the version's newest evaluations and its source run's latest metrics, and
 * the same of the current holder of each alias a compare_to gate names.
 */
async function assembleEvidence(client: BerthClient, v: Version, policy: PolicyDocument): Promise<GateEvidence> {
  const subject = async (version: Version | undefined): Promise<GateSubject> => {
    if (!version) return { version: null, run_id: null, run_metrics: null, evaluations: [] };
    const [page, run] = await Promise.all([
      client.listEvaluations(version.model, version.version, { limit: EVIDENCE_EVALUATIONS }),
      version.run_id === null
        ? null
        : client.getRun(version.run_id).catch((err: unknown) => (err instanceof BerthError && err.code === 'NOT_FOUND' ? undefined : Promise.reject(err))),
    ]);
    return { version: version.version, run_id: version.run_id, run_metrics: run === null ? null : (run?.metrics ?? {}), evaluations: page.items };
  };
  const candidate = await subject(v);
  const compared = [...new Set(policy.gates.flatMap((g) => (g.compare_to === null ? [] : [g.compare_to])))];
  const holders = compared.length ? await client.listAliases(v.model) : [];
  const aliases: Record<string, GateSubject> = {};
  for (const alias of compared) {
    const holder = holders.find((a) => a.alias === alias)?.version;
    aliases[alias] = holder === v.version ? candidate : await subject(holder === undefined ? undefined : await client.getVersion(v.model, holder));
  }
  return { model: v.model, version: v.version, candidate, aliases };
}

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
    document = local.document;
    evidence = await assembleEvidence(client, v, document);
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
