import type { BerthEvent } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { when } from '../output/format.js';

const USAGE = `usage: berth events [--after N] [--types T,…] [--model M] [--follow] [--json]
  every event after seq N (default 0), oldest first, one line each: seq, time, type, subject,
  actor, and for alias events the previous and new version
--types   event types or prefixes: alias.moved,version.created or alias.*
--follow  keep going: print events as they happen (Server-Sent Events), resuming where it left
          off when the connection drops; stop with Ctrl-C
--json    one JSON object per line`;

function line(e: BerthEvent): string {
  const d = e.data as { previous_version?: number | null; version?: number | null };
  const move = e.type.startsWith('alias.') && ('version' in d || 'previous_version' in d) ? `  ${d.previous_version ?? '-'} → ${d.version ?? '-'}` : '';
  return `${e.seq}  ${when(e.timestamp)}  ${e.type}  ${e.subject}  ${e.actor}${move}`;
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { after: { type: 'string' }, types: { type: 'string' }, model: { type: 'string' }, follow: { type: 'boolean', short: 'f', default: false } },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length) throw new UsageError(`unknown events argument ${JSON.stringify(positionals[0])}`, USAGE);
  const rawAfter = values.after as string | undefined;
  if (rawAfter !== undefined && !/^\d{1,15}$/.test(rawAfter))
    throw new UsageError(`--after takes an event seq (a non-negative integer), not ${JSON.stringify(rawAfter)}`, USAGE);
  const after = rawAfter === undefined ? 0 : Number(rawAfter);
  const types = (values.types as string | undefined)?.split(',').map((t) => t.trim());
  const model = values.model as string | undefined;
  const show = (e: BerthEvent) => ctx.print(ctx.json ? JSON.stringify(e) : line(e));
  const client = ctx.client();
  if (values.follow) {
    const onReconnect = (err: unknown) => ctx.io.stderr.write(`event stream dropped (${(err as Error)?.message ?? err}); reconnecting\n`);
    for await (const e of client.events({ after, types, model, signal: ctx.io.signal, onReconnect })) show(e);
    return 0;
  }
  let cursor: string | undefined;
  let shown = 0;
  do {
    const page = await client.listEvents({ after, cursor, types, model, limit: 1000 });
    for (const e of page.items) show(e);
    shown += page.items.length;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  if (shown === 0 && !ctx.json) ctx.io.stderr.write('no events\n');
  return 0;
}
