import type { Delivery } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { kv, table, when } from '../output/format.js';

const USAGE = `usage: berth webhook add <url> [--events a,b] [--secret whsec_…] [--description D]
       berth webhook ls
       berth webhook rm <id>
       berth webhook deliveries <id> [--state pending|delivered|failed]
       berth webhook replay <delivery-id>
       berth webhook test <id>
A webhook receives every event of the listed types (alias.moved, version.created, a family such
as alias.*, or * for all; default *) as a signed POST (Standard Webhooks: webhook-id,
webhook-timestamp, webhook-signature). The secret is printed once, by add. A delivery that
fails every attempt is marked failed and the endpoint moves on; replay sends it again.`;

const STATES = ['pending', 'delivered', 'failed'] as const;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { events: { type: 'string' }, secret: { type: 'string' }, description: { type: 'string' }, state: { type: 'string' } },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, arg = ''] = positionals;
  const need = (n: number) => {
    if (positionals.length !== n) throw new UsageError(`webhook ${sub} takes ${n - 1} argument(s)`, USAGE);
  };
  const client = ctx.client();
  switch (sub) {
    case 'add': {
      need(2);
      const events =
        values.events === undefined
          ? undefined
          : (values.events as string)
              .split(',')
              .map((e) => e.trim())
              .filter(Boolean);
      const w = await client.createWebhook({
        url: arg,
        ...(events ? { events } : {}),
        ...(values.secret !== undefined ? { secret: values.secret as string } : {}),
        ...(values.description !== undefined ? { description: values.description as string } : {}),
      });
      if (ctx.json) return (ctx.printJson(w), 0);
      ctx.print(
        kv([
          ['id', w.id],
          ['url', w.url],
          ['events', w.events.join(', ')],
          ['secret', `${w.secret} (shown once: store it where the receiver can verify signatures with it)`],
        ]),
      );
      return 0;
    }
    case 'ls': {
      need(1);
      const items = [];
      for await (const w of client.iterWebhooks()) items.push(w);
      if (ctx.json) return (ctx.printJson(items), 0);
      if (items.length === 0) return (ctx.print('no webhooks: add one with `berth webhook add <url>`'), 0);
      ctx.print(
        table(
          ['ID', 'URL', 'EVENTS', 'ACTIVE', 'CREATED', 'DESCRIPTION'],
          items.map((w) => [w.id, w.url, w.events.join(','), w.active ? 'yes' : 'no', when(w.created_at), w.description]),
        ),
      );
      return 0;
    }
    case 'rm': {
      need(2);
      await client.deleteWebhook(arg);
      if (ctx.json) ctx.printJson({ id: arg, deleted: true });
      else ctx.print(`webhook ${arg} removed`);
      return 0;
    }
    case 'deliveries': {
      need(2);
      const state = values.state as string | undefined;
      if (state !== undefined && !(STATES as readonly string[]).includes(state))
        throw new UsageError(`--state must be one of ${STATES.join(', ')}, not ${JSON.stringify(state)}`, USAGE);
      const page = await client.listDeliveries(arg, { ...(state ? { state: state as Delivery['state'] } : {}), limit: 100 });
      if (ctx.json) return (ctx.printJson(page.items), 0);
      if (page.items.length === 0) return (ctx.print(`no ${state ?? ''}${state ? ' ' : ''}deliveries for ${arg}`), 0);
      ctx.print(
        table(
          ['ID', 'EVENT', 'TYPE', 'STATE', 'ATTEMPTS', 'STATUS', 'LATENCY', 'CREATED', 'ERROR'],
          page.items.map((d) => [
            d.id,
            `evt_${d.event_seq}`,
            d.event_type,
            d.state,
            d.attempts,
            d.last_status,
            d.latency_ms === null ? null : `${d.latency_ms}ms`,
            when(d.created_at),
            d.last_error,
          ]),
        ),
      );
      if (page.next_cursor) ctx.print('(newest 100 shown; --json with the API for more)');
      return 0;
    }
    case 'replay': {
      need(2);
      const d = await client.replayDelivery(arg);
      if (ctx.json) ctx.printJson(d);
      else ctx.print(`queued ${d.id}: evt_${d.event_seq} (${d.event_type}) again to ${d.webhook}`);
      return 0;
    }
    case 'test': {
      need(2);
      const r = await client.testWebhook(arg);
      if (ctx.json) ctx.printJson(r);
      else ctx.print(r.success ? `delivered: ${r.status} in ${r.latency_ms}ms` : `failed: ${r.error ?? `status ${r.status}`} (${r.latency_ms}ms)`);
      return r.success ? 0 : 1;
    }
    default:
      throw new UsageError(sub ? `unknown webhook command ${JSON.stringify(sub)}` : 'give a webhook command', USAGE);
  }
}
