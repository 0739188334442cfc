import { controlPlane, startGateway, type Gateway } from '@berth/gateway';
import { BerthError } from '@berth/core';
import { parse, parseCount } from '../args.js';
import { serverUrl, type Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth gateway [--port 8080] [--host 127.0.0.1] [--deployments a,b] [--gateway-id ID] [--report-interval 10s]
                     [--no-analysis] [--json]
Serves the OpenAI API (/v1/chat/completions, /v1/completions, /v1/feedback), /metrics, /status and /healthz,
routing each deployment as the registry (--url / BERTH_URL, token --token / BERTH_TOKEN) says, and following it
over the event stream. With analysis (the default) it also runs rollouts and reports what it served, which needs
an approver token; --no-analysis only routes. Stops on SIGTERM or SIGINT once requests in flight are answered.`;

/** `250ms`, `10s`, `5m`, `1h`, or a number of seconds → milliseconds. */
function parseMs(raw: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const ms = m ? Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']) : NaN;
  if (!(ms >= 1)) throw new UsageError(`--${flag} must be a duration such as 500ms, 10s or 5m, not ${JSON.stringify(raw)}`, USAGE);
  return ms;
}

function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return new BerthError('FAILED_PRECONDITION', `${host}:${port} is in use: another process listens there; pass --port`, { port });
  if (code === 'EACCES')
    return new BerthError('FAILED_PRECONDITION', `not allowed to listen on port ${port}: ports below 1024 need privileges; pick another --port`, { port });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new BerthError('INVALID_ARGUMENT', `cannot listen on ${host} (${code}): use 127.0.0.1 or an address of this machine`, { host });
  return err;
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      deployments: { type: 'string' },
      'gateway-id': { type: 'string' },
      'report-interval': { type: 'string' },
      'no-analysis': { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, USAGE);
  const port = parseCount(values.port, 'port', USAGE, 0, 65535) ?? 8080;
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const deployments = typeof values.deployments === 'string' ? values.deployments.split(',').map((s) => s.trim()) : undefined;
  if (deployments?.some((d) => d === '')) throw new UsageError('--deployments takes a comma-separated list of deployment names', USAGE);
  const reportIntervalMs = typeof values['report-interval'] === 'string' ? parseMs(values['report-interval'], 'report-interval') : undefined;
  const control = values['no-analysis'] ? undefined : controlPlane;
  const token = typeof values.token === 'string' ? values.token : ctx.io.env.BERTH_TOKEN || undefined;
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}) => {
    if (ctx.json) ctx.io.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
    else ctx.io.stderr.write(`${level}: ${msg}${Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}\n`);
  };
  let gw: Gateway;
  try {
    gw = await startGateway({
      url: serverUrl(values.url, ctx.io.env),
      ...(token ? { token } : {}),
      port,
      host,
      ...(deployments ? { deployments } : {}),
      ...(typeof values['gateway-id'] === 'string' ? { gatewayId: values['gateway-id'] } : {}),
      ...(reportIntervalMs ? { reportIntervalMs } : {}),
      ...(control ? { control } : {}),
      log,
    });
  } catch (err) {
    throw listenError(err, host, port);
  }
  const served = gw.view.all().map((d) => d.name);
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ url: gw.url, gateway_id: gw.gatewayId, deployments: served, analysis: control !== undefined })}\n`);
  else
    ctx.print(
      `gateway listening on ${gw.url} (id ${gw.gatewayId}; ${served.length} deployment${served.length === 1 ? '' : 's'}${control ? '' : '; routing only'})`,
    );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      ctx.io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (ctx.io.signal?.aborted) stop();
    else ctx.io.signal?.addEventListener('abort', stop);
  });
  await gw.close();
  return 0;
}
