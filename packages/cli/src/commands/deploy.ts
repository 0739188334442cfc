import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, type Deployment, type DeploymentStatus, type Rollout, type ServedReport } from '@berth/core';
import { parse, parseVersionNumber } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { kv, shortDigest, table, when } from '../output/format.js';

const USAGE = `usage: berth deploy apply <FILE.yaml>                    store the deployment as its next version (approver)
       berth deploy ls                                   the latest version of every deployment
       berth deploy show <name> [--version N] [--yaml]   one version (default: the latest); --yaml: only its YAML
       berth deploy status <name> [--watch]              aliases, rollout, and what each gateway serves
       berth deploy rm <name> --reason R                 remove it (approver); gateways stop serving it
The deployment's name is its \`deployment:\` key. The registry checks the document (a mistake names
its line and key) and the versions it would serve. Applying a document equal to the latest
version stores nothing and says "unchanged". --watch reads the status again every second until
Ctrl-C (with --json: one JSON line per read).
exit codes: 0 ok, 1 failed precondition (an alias unset, a version unpinned or not served),
2 invalid document or usage, 3 not found.`;

/** The file's text; a file that cannot be read is a mistake in the command line, not a missing registry object. */
async function readDeploymentFile(ctx: Context, file: string): Promise<string> {
  const path = resolve(ctx.io.cwd, file);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError('INVALID_ARGUMENT', `cannot read deployment file ${path}: ${code ?? (err as Error).message}`, { path });
  }
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      version: { type: 'string' },
      yaml: { type: 'boolean', default: false },
      watch: { type: 'boolean', short: 'w', default: false },
      reason: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, arg = ''] = positionals;
  const need = (n: number, what: string) => {
    if (positionals.length !== n) throw new UsageError(`deploy ${sub} takes ${what}`, USAGE);
  };
  const only = (allowed: string[]) => {
    for (const flag of ['version', 'yaml', 'watch', 'reason']) {
      if (!allowed.includes(flag) && values[flag] !== undefined && values[flag] !== false) throw new UsageError(`deploy ${sub} takes no --${flag}`, USAGE);
    }
  };
  switch (sub) {
    case 'apply': {
      need(2, 'one deployment file');
      only([]);
      const d = await ctx.client().applyDeployment(await readDeploymentFile(ctx, arg));
      if (ctx.json) return (ctx.printJson(d), 0);
      ctx.print(`deployment ${d.name} version ${d.version} ${d.digest}${d.unchanged ? ' unchanged' : ''}`);
      return 0;
    }
    case 'ls': {
      need(1, 'no arguments');
      only([]);
      const items: Deployment[] = [];
      for await (const d of ctx.client().iterDeployments()) items.push(d);
      if (ctx.json) return (ctx.printJson(items), 0);
      if (items.length === 0) return (ctx.print('no deployments; store one with `berth deploy apply FILE.yaml`'), 0);
      ctx.print(
        table(
          ['NAME', 'VERSION', 'MODEL', 'STRATEGY', 'STABLE', 'CANDIDATE', 'UPSTREAMS', 'DIGEST', 'CREATED', 'BY'],
          items.map((d) => [
            d.name,
            d.version,
            d.model,
            d.document.strategy,
            d.document.stable,
            d.document.candidate,
            d.document.upstreams.length,
            shortDigest(d.digest),
            when(d.created_at),
            d.created_by,
          ]),
        ),
      );
      return 0;
    }
    case 'show': {
      need(2, 'one deployment name');
      only(['version', 'yaml']);
      const version = values.version === undefined ? undefined : parseVersionNumber(values.version as string, '--version', USAGE);
      const d = await ctx.client().getDeployment(arg, { version });
      if (values.yaml) return (ctx.io.stdout.write(d.yaml), 0);
      if (ctx.json) return (ctx.printJson(d), 0);
      ctx.print(showDeployment(d));
      return 0;
    }
    case 'status': {
      need(2, 'one deployment name');
      only(['watch']);
      const client = ctx.client();
      if (!values.watch) {
        const s = await client.deploymentStatus(arg);
        if (ctx.json) return (ctx.printJson(s), 0);
        ctx.print(showStatus(s));
        return 0;
      }
      const signal = ctx.io.signal;
      const clear = ctx.io.stdout.isTTY && !ctx.json;
      while (!signal?.aborted) {
        const s = await client.deploymentStatus(arg);
        if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(s)}\n`);
        else ctx.print(`${clear ? '\x1b[H\x1b[2J' : ''}${when(new Date().toISOString())}\n${showStatus(s)}`);
        try {
          await sleep(1000, undefined, { signal });
        } catch {
          break;
        }
      }
      return 0;
    }
    case 'rm': {
      need(2, 'one deployment name');
      only(['reason']);
      const reason = (values.reason as string | undefined)?.trim();
      if (!reason) throw new UsageError('--reason is required: say why the deployment goes (it is kept in the audit trail)', USAGE);
      await ctx.client().deleteDeployment(arg, reason);
      if (ctx.json) return (ctx.printJson({ deleted: arg, reason }), 0);
      ctx.print(`deployment ${arg} removed`);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown deploy command ${JSON.stringify(sub)}` : 'give a deploy command: apply, ls, show, status or rm', USAGE);
  }
}

function duration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function showDeployment(d: Deployment): string {
  const doc = d.document;
  const pairs: [string, unknown][] = [
    ['deployment', d.name],
    ['version', d.version],
    ['digest', d.digest],
    ['created', `${when(d.created_at)} by ${d.created_by}`],
    ['model', doc.model],
    ['strategy', doc.strategy],
    ['stable', doc.stable],
    ['candidate', doc.candidate ?? '-'],
  ];
  if (doc.steps.length) pairs.push(['steps', doc.steps.map((s) => `${s.weight}%${s.pause_ms ? ` for ${duration(s.pause_ms)}` : ''}`).join(' → ')]);
  if (doc.ab)
    pairs.push([
      'ab',
      `${Object.entries(doc.ab.weights)
        .map(([a, w]) => `${a} ${w}%`)
        .join(', ')} by ${doc.ab.key}`,
    ]);
  if (doc.shadow) pairs.push(['shadow', `${doc.shadow.sample * 100}% of requests copied to ${doc.candidate}`]);
  const slos = [
    doc.slos.error_rate && `error rate ≤ ${doc.slos.error_rate.max} (min ${doc.slos.error_rate.min_samples} samples)`,
    doc.slos.p99_latency_ms && `p99 ≤ ${doc.slos.p99_latency_ms.max} ms (min ${doc.slos.p99_latency_ms.min_samples} samples)`,
    doc.slos.quality &&
      `at most ${doc.slos.quality.max_fraction_below * 100}% of the last ${doc.slos.quality.window} scores below ${doc.slos.quality.min_score} (min ${doc.slos.quality.min_samples} samples)`,
  ].filter(Boolean);
  pairs.push(['slos', slos.length ? slos.join('; ') : '-']);
  pairs.push(['analysis', `every ${duration(doc.analysis_interval_ms)}${doc.bake_ms ? `, bake ${duration(doc.bake_ms)}` : ''}`]);
  if (doc.judge) pairs.push(['judge', `${doc.judge.model} at ${doc.judge.url}, rubric ${doc.judge.rubric}, ${doc.judge.sample * 100}% sampled`]);
  const upstreams = table(
    ['VERSIONS', 'URL', 'PROTOCOL', 'ADAPTER', 'HEALTH', 'TIMEOUT'],
    doc.upstreams.map((u) => [u.versions === '*' ? '*' : u.versions.join(','), u.url, u.protocol, u.adapter, u.health, duration(u.timeout_ms)]),
  );
  return `${kv(pairs)}\n${upstreams}`;
}

function showRollout(r: Rollout | null, model: string): string {
  if (!r) return 'rollout:   none';
  const lines = [
    `rollout:   ${r.kind} of ${model}:${r.candidate_version}${r.stable_version === null ? '' : ` (from ${model}:${r.stable_version})`}  ${r.state}  step ${r.step}  weight ${r.weight}%  since ${when(r.step_started_at)}`,
  ];
  const last = r.last_decision;
  if (last) lines.push(`decision:  ${last.decision} at ${when(last.at)} by ${last.gateway}${last.reason ? `: ${last.reason}` : ''}`);
  return lines.join('\n');
}

function ms(n: number | null): string {
  return n === null ? '-' : `${Math.round(n * 10) / 10} ms`;
}

function showReport(r: ServedReport, model: string): string {
  const rows = r.versions.map((v) => [
    `${model}:${v.version}${v.shadow ? ' (shadow)' : ''}`,
    `${v.weight}%`,
    v.requests,
    v.errors,
    ms(v.p50_ms),
    ms(v.p99_ms),
    `${v.tokens_in}/${v.tokens_out}`,
    v.judged,
    v.below,
    v.mean_score === null ? '-' : v.mean_score.toFixed(3),
  ]);
  const head = `gateway ${r.gateway}  ${when(r.from)} – ${when(r.to)}`;
  const shadow = r.shadow
    ? `shadow: ${r.shadow.compared} compared, ${r.shadow.differed} differed${r.shadow.diff_rate === null ? '' : ` (${(r.shadow.diff_rate * 100).toFixed(1)}%)`}, ${r.shadow.candidate_errors} candidate errors\n`
    : '';
  return `${head}\n${table(['VERSION', 'WEIGHT', 'REQUESTS', 'ERRORS', 'P50', 'P99', 'TOKENS IN/OUT', 'JUDGED', 'BELOW', 'MEAN SCORE'], rows)}${shadow}`;
}

function showStatus(s: DeploymentStatus): string {
  const d = s.deployment;
  const aliases = Object.entries(s.aliases)
    .map(([a, v]) => `${a}=${v ?? 'unset'}`)
    .join(', ');
  const head = [
    `deployment ${d.name} version ${d.version}  model ${d.model}  strategy ${d.document.strategy}`,
    `aliases:   ${aliases || '-'}`,
    showRollout(s.rollout, d.model),
  ].join('\n');
  const reports = s.reports.length ? s.reports.map((r) => showReport(r, d.model)).join('\n') : 'no gateway has reported serving it in the last minute\n';
  return `${head}\n\n${reports}`;
}
