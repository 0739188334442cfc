import { BerthError } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const DEFAULT_GATEWAY = 'http://127.0.0.1:8080';

const USAGE = `usage: berth feedback <request-id> --score X [--comment C] [--gateway URL]
  a quality signal for one answer: X from 0 (bad) to 1 (good). The request id is the answer's
  x-request-id header (req_…). Sent to the gateway that served it (POST /v1/feedback), which
  counts it toward the deployment's quality SLO.
--gateway  the gateway's URL (default: BERTH_GATEWAY_URL, else ${DEFAULT_GATEWAY})
exit codes: 0 ok, 1 gateway unreachable or failing, 2 usage or a score out of range,
3 request id unknown to the gateway (it remembers the last 100,000 requests for an hour).`;

/** --gateway, else BERTH_GATEWAY_URL, else the default; the feedback endpoint below it (a base URL that already ends in /v1 is taken as is). */
function feedbackUrl(flag: unknown, env: Context['io']['env']): { gateway: string; endpoint: string } {
  const raw = typeof flag === 'string' ? flag : env.BERTH_GATEWAY_URL || DEFAULT_GATEWAY;
  const from = typeof flag === 'string' ? '--gateway' : env.BERTH_GATEWAY_URL ? 'BERTH_GATEWAY_URL' : 'the default gateway URL';
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new UsageError(`${from} ${JSON.stringify(raw)} is not an http(s) URL: use e.g. ${DEFAULT_GATEWAY}`, USAGE);
  const gateway = raw.replace(/\/+$/, '');
  return { gateway, endpoint: `${gateway}${gateway.endsWith('/v1') ? '' : '/v1'}/feedback` };
}

function parseScore(raw: unknown): number {
  const n = typeof raw === 'string' && /^(0|1|0?\.\d+|[01]\.\d+)$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--score must be a number from 0 to 1, not ${JSON.stringify(raw)}`, USAGE);
  return n;
}

/** The message of an OpenAI-shaped error body, or of anything else the gateway answered. */
function gatewayMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: show the text itself
  }
  return body.trim().slice(0, 300) || '(empty answer)';
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { score: { type: 'string' }, comment: { type: 'string' }, gateway: { type: 'string' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give one request id (the x-request-id of the answer)', USAGE);
  const requestId = positionals[0] as string;
  if (values.score === undefined) throw new UsageError('--score is required: a number from 0 (bad) to 1 (good)', USAGE);
  const score = parseScore(values.score);
  const { gateway, endpoint } = feedbackUrl(values.gateway, ctx.io.env);
  const comment = values.comment as string | undefined;

  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: requestId, score, ...(comment === undefined ? {} : { comment }) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new BerthError(
      'INTERNAL',
      `cannot reach the gateway at ${gateway} (${why}): start it with \`berth gateway\`, or point --gateway / BERTH_GATEWAY_URL at it`,
      { url: gateway, cause: why },
    );
  }
  const text = await res.text();
  if (res.status === 404) {
    throw new BerthError(
      'NOT_FOUND',
      `the gateway at ${gateway} does not know request ${JSON.stringify(requestId)}: ${gatewayMessage(text)} (it remembers the last 100,000 requests for an hour; send feedback to the gateway that served it)`,
      { request_id: requestId, url: gateway },
    );
  }
  if (res.status === 400) throw new BerthError('INVALID_ARGUMENT', `the gateway at ${gateway} refused the feedback: ${gatewayMessage(text)}`, { url: gateway });
  if (!res.ok)
    throw new BerthError('INTERNAL', `the gateway at ${gateway} answered ${res.status}: ${gatewayMessage(text)}`, { url: gateway, status: res.status });
  let body: { request_id?: string; deployment?: string; version?: number | string };
  try {
    body = JSON.parse(text);
  } catch {
    throw new BerthError('INTERNAL', `the gateway at ${gateway} answered 200 with something that is not JSON: ${text.slice(0, 100)}`, { url: gateway });
  }
  if (ctx.json) return (ctx.printJson(body), 0);
  ctx.print(`feedback ${score} recorded for ${requestId} (deployment ${body.deployment ?? '-'}, version ${body.version ?? '-'})`);
  return 0;
}
