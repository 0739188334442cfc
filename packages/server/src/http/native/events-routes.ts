import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { EventSchema, PageSchema } from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { requireRole } from '../../registry/actor.js';
import { EventFeed, listEvents, parseEventCursor, parseEventTypes, type EventFilter, type FeedItem } from '../../registry/event-feed.js';
import { actorOf } from '../actor.js';
import { observe, serverMetrics } from '../metrics.js';

export interface EventStreamOptions {
  /** Bytes a follower may leave unread in its socket's buffer before it is dropped. */
  maxBufferedBytes?: number;
  /** Time between heartbeat comments, ms. */
  heartbeatMs?: number;
  /** How often the feed looks for events committed by other servers, ms. */
  pollMs?: number;
}

/** A dropped connection reconnects after this long (the `retry:` field). */
const RETRY_MS = 2000;
/** While sending a backlog, the next batch waits until the buffer is below this. */
const BACKLOG_LOW_WATER = 256 * 1024;
/** How long a backlog waits for a client to read before it is dropped. */
const BACKLOG_DRAIN_MS = 30_000;

type EventsQuery = { after?: string; cursor?: string; types?: string; model?: string; limit?: number };

function wantsStream(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

export function eventRoutes(app: FastifyInstance, registry: Registry, opts: EventStreamOptions = {}): void {
  const feed = new EventFeed(registry.deps.store, opts.pollMs);
  const maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  // Followers never end by themselves: without this, closing the server would wait on them.
  app.addHook('preClose', (done) => {
    feed.close();
    done();
  });

  app.get<{ Querystring: EventsQuery }>(
    '/events',
    {
      schema: {
        summary: 'Events after a sequence number: a JSON page, or with Accept: text/event-stream the backlog then live events (SSE)',
        tags: ['events'],
        eventStream: true,
        querystring: Type.Object({
          after: Type.Optional(Type.String({ description: 'Events after this seq (default 0); the Last-Event-ID header wins over it' })),
          cursor: Type.Optional(Type.String({ description: "A page's next_cursor (same meaning as after)" })),
          types: Type.Optional(Type.String({ description: 'Comma-separated event types or prefixes (alias.*)' })),
          model: Type.Optional(Type.String({ description: "Only this model's events" })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'JSON page size (default 100)' })),
        }),
        response: { 200: PageSchema(EventSchema) },
      },
    },
    async (req, reply) => {
      requireRole(actorOf(req), 'viewer', 'read events');
      const q = req.query;
      const filter: EventFilter = { types: parseEventTypes(q.types), ...(q.model !== undefined ? { model: q.model } : {}) };
      const lastId = req.headers['last-event-id'];
      let after = 0;
      if (typeof lastId === 'string' && lastId !== '') after = parseEventCursor(lastId, 'Last-Event-ID');
      else if (q.cursor !== undefined) after = parseEventCursor(q.cursor, 'cursor');
      else if (q.after !== undefined) after = parseEventCursor(q.after, 'after');
      if (!wantsStream(req)) return listEvents(registry.deps.store, { ...filter, after, limit: q.limit ?? 100 });
      return follow(req, reply, after, filter);
    },
  );

  async function follow(req: FastifyRequest, reply: FastifyReply, after: number, filter: EventFilter): Promise<FastifyReply> {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies that buffer answers (nginx) would hold events back.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    serverMetrics.sseFollowers.inc();
    let open = true;
    let leave: (() => void) | undefined;
    const end = () => {
      if (!open) return;
      open = false;
      clearInterval(heartbeat);
      serverMetrics.sseFollowers.dec();
      leave?.();
      res.destroy();
      // A hijacked reply skips Fastify's onResponse hooks: count and log the stream here, once.
      observe(req, reply);
    };
    // A client that stopped reading is let go, so its unread events cannot pile up in memory:
    // what it left unread of earlier writes (its kernel buffers full) counts, not the batch at hand.
    const write = (text: string): boolean => {
      if (!open) return false;
      if (res.writableLength > maxBuffered) {
        req.log.warn({ buffered: res.writableLength }, 'dropped an event stream follower that does not read');
        end();
        return false;
      }
      res.write(text);
      return true;
    };
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    res.on('close', end);
    try {
      leave = await feed.follow(after, {
        filter,
        send: (items: readonly FeedItem[]) => write(items.map((i) => i.frame).join('')),
        dropped: end,
        ready: () => drained(res, BACKLOG_LOW_WATER, BACKLOG_DRAIN_MS),
      });
      if (!open) leave();
    } catch (err) {
      req.log.error({ err }, 'event stream failed');
      end();
    }
    return reply;
  }
}

/** Resolves true once the answer's buffer is below `low`, false when the client goes away or does not read for `ms`. */
function drained(res: FastifyReply['raw'], low: number, ms: number): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.writableLength < low) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain).off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    res.on('drain', onDrain).on('close', onClose);
  });
}
