import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BerthEvent } from '@berth/core';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

/** A raw text/event-stream reader over node:http: the frames as the server wrote them. */
class Follower {
  frames: Frame[] = [];
  status = 0;
  headers: IncomingMessage['headers'] = {};
  ended = false;
  private req!: ClientRequest;
  private res: IncomingMessage | undefined;
  private buf = '';
  private waiters: (() => void)[] = [];

  constructor(
    readonly url: string,
    readonly headers0: Record<string, string> = {},
    readonly read = true,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = request(this.url, { headers: { accept: 'text/event-stream', ...this.headers0 } }, (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.feed(chunk));
        // After the data listener, which would switch the stream back to flowing.
        if (!this.read) res.pause();
        const ended = () => {
          this.ended = true;
          this.wake();
        };
        res.on('close', ended);
        res.socket.on('close', ended);
        res.on('error', () => {});
        resolve();
      });
      this.req.on('error', (err) => (this.res ? undefined : reject(err)));
      this.req.end();
    });
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    for (let i = this.buf.indexOf('\n\n'); i >= 0; i = this.buf.indexOf('\n\n')) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const f: Frame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) f.comment = line.slice(1).trim();
        else {
          const c = line.indexOf(': ');
          (f as Record<string, string>)[line.slice(0, c)] = line.slice(c + 2);
        }
      }
      this.frames.push(f);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get events(): BerthEvent[] {
    return this.frames.filter((f) => f.data !== undefined).map((f) => JSON.parse(f.data as string) as BerthEvent);
  }

  /** Waits until `pred` holds over the frames so far (or the stream ends). */
  async until(pred: (f: Follower) => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      if (this.ended) throw new Error(`stream ended before the condition held; ${this.events.length} events`);
      if (Date.now() > deadline) throw new Error(`timed out; ${this.events.length} events`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req.destroy();
  }
}

describe('GET /api/v1/events', () => {
  let t: TestApp;
  let base = '';
  const actor = localActor('alice', 'api');

  before(async () => {
    t = await openTestApp('berth-events-', { eventStream: { maxBufferedBytes: 64 * 1024, heartbeatMs: 100 } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/api/v1`;
    const content = 'weights';
    const sha = createHash('sha256').update(content).digest('hex');
    const put = await fetch(`${base}/blobs/${sha}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: content });
    assert.equal(put.status < 300, true);
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${base}/models/chatbot/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ files: [{ path: 'w.bin', size: content.length, sha256: sha }] }),
      });
      assert.equal(r.status, 201, await r.text());
    }
  });
  after(async () => t.close());

  let flip = 0;
  /** Moves `champion` n times between versions 1 and 2; returns the seqs of the alias events. */
  async function moves(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await t.registry.aliases.set(actor, 'chatbot', 'champion', { version: (flip++ % 2) + 1, reason: `move ${flip}` });
  }

  async function last(): Promise<number> {
    return t.store.read.events.last();
  }

  it('sends the backlog then live events, each once, with ids, types and a retry hint', async () => {
    const start = await last();
    await moves(3);
    const f = new Follower(`${base}/events?after=${start}`);
    await f.open();
    assert.equal(f.status, 200);
    assert.match(String(f.headers['content-type']), /^text\/event-stream/);
    assert.equal(f.headers['berth-api'], '1');
    await f.until((x) => x.events.length >= 3);
    await moves(4);
    await f.until((x) => x.events.length >= 7);
    await new Promise((r) => setTimeout(r, 200));
    f.close();
    assert.equal(f.frames[0]?.retry, '2000');
    const seqs = f.events.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 7 }, (_, i) => start + 1 + i),
    );
    const frame = f.frames.find((x) => x.data !== undefined) as Frame;
    const e = JSON.parse(frame.data as string) as BerthEvent;
    assert.equal(frame.id, String(e.seq));
    assert.equal(frame.event, 'alias.moved');
    assert.equal(e.type, 'alias.moved');
    assert.equal(e.actor, 'alice');
    assert.equal(e.model, 'chatbot');
    assert.equal(typeof e.data.version, 'number');
  });

  it('sends heartbeat comments while nothing happens', async () => {
    const f = new Follower(`${base}/events?after=${await last()}`);
    await f.open();
    await f.until((x) => x.frames.filter((fr) => fr.comment === 'heartbeat').length >= 2, 3000);
    f.close();
    assert.equal(f.events.length, 0);
  });

  it('resumes after Last-Event-ID (which wins over after) with no gap and no duplicate', async () => {
    const start = await last();
    await moves(5);
    const first = new Follower(`${base}/events?after=${start}`);
    await first.open();
    await first.until((x) => x.events.length >= 2);
    first.close();
    const seen = first.events.map((e) => e.seq);
    const resumeAt = seen[seen.length - 1] as number;
    await moves(2);
    const second = new Follower(`${base}/events?after=0`, { 'last-event-id': String(resumeAt) });
    await second.open();
    await second.until((x) => x.events.length >= start + 7 - resumeAt);
    await moves(1);
    await second.until((x) => x.events.length >= start + 8 - resumeAt);
    await new Promise((r) => setTimeout(r, 200));
    second.close();
    const all = [...seen, ...second.events.map((e) => e.seq)];
    assert.deepEqual(
      all,
      Array.from({ length: 8 }, (_, i) => start + 1 + i),
    );
  });

  it('sends only the asked types and model', async () => {
    const start = await last();
    const f = new Follower(`${base}/events?after=${start}&types=model.*,version.created&model=chatbot`);
    await f.open();
    await moves(2);
    await t.registry.models.update(actor, 'chatbot', { description: 'a chat model' });
    await t.registry.models.create(actor, { name: 'other', description: 'x' });
    await f.until((x) => x.events.length >= 1);
    await moves(1);
    await new Promise((r) => setTimeout(r, 300));
    f.close();
    assert.deepEqual(
      f.events.map((e) => [e.type, e.model]),
      [['model.updated', 'chatbot']],
    );
  });

  it('drops a follower that never reads while another keeps receiving', async () => {
    // Its own server: the outbox is filled directly with large events, to get past the many
    // megabytes loopback sockets buffer before the server's own bound is reached.
    const own = await openTestApp('berth-events-stuck-', { eventStream: { maxBufferedBytes: 1024 * 1024 } });
    try {
      await own.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(own.app.server.address() as AddressInfo).port}/api/v1/events`;
      const stuck = new Follower(url, {}, false);
      const live = new Follower(url);
      await stuck.open();
      await live.open();
      const blob = 'x'.repeat(64 * 1024);
      // 64 MiB in all: more than loopback buffers (tens of MiB) plus the 1 MiB bound.
      let seq = 0;
      while (seq < 1000) {
        await own.store.transaction(async (tx) => {
          for (let i = 0; i < 10; i++) {
            seq++;
            const e = {
              seq,
              type: 'model.updated',
              timestamp: new Date().toISOString(),
              actor: 'a',
              model: 'm',
              subject: 'model:m',
              reason: null,
              data: { blob },
            };
            await tx.events.append(e, Date.now());
          }
        });
        await new Promise((r) => setTimeout(r, 10));
      }
      await live.until((x) => x.events.length >= seq, 30_000);
      // A paused socket does not see the server let go until it reads again: then it gets what
      // was buffered and the end, never the rest.
      stuck.resume();
      await stuck.until((x) => x.ended, 10_000);
      assert.ok(stuck.events.length < seq, `the stuck follower got all ${seq} events`);
      live.close();
      assert.equal(live.events.at(-1)?.seq, seq);
      assert.equal(live.events.length, seq);
    } finally {
      await own.close();
    }
  });

  it('answers a JSON page without Accept: text/event-stream, with a cursor for the next', async () => {
    const start = await last();
    await moves(5);
    const r1 = await fetch(`${base}/events?after=${start}&limit=3`);
    assert.equal(r1.status, 200);
    const p1 = (await r1.json()) as { items: BerthEvent[]; next_cursor: string | null };
    assert.deepEqual(
      p1.items.map((e) => e.seq),
      [start + 1, start + 2, start + 3],
    );
    assert.equal(p1.next_cursor, String(start + 3));
    const p2 = (await (await fetch(`${base}/events?cursor=${p1.next_cursor}&limit=3`)).json()) as { items: BerthEvent[]; next_cursor: string | null };
    assert.deepEqual(
      p2.items.map((e) => e.seq),
      [start + 4, start + 5],
    );
    assert.equal(p2.next_cursor, null);
    const typed = (await (await fetch(`${base}/events?after=0&types=model.created&limit=1000`)).json()) as { items: BerthEvent[] };
    assert.deepEqual(
      typed.items.map((e) => e.model),
      ['chatbot', 'other'],
    );
  });

  for (const [query, headers, field] of [
    ['after=-1', {}, 'after'],
    ['after=abc', {}, 'after'],
    ['after=1.5', {}, 'after'],
    ['types=alias.moovd', {}, 'types'],
    ['types=nothing.*', {}, 'types'],
    ['types=,', {}, 'types'],
    ['after=1', { 'last-event-id': 'evt_x' }, 'Last-Event-ID'],
  ] as const) {
    for (const stream of [false, true]) {
      it(`refuses ${query} ${JSON.stringify(headers)} with 400 naming ${field} when ${stream ? 'streaming' : 'paging'}`, async () => {
        const r = await fetch(`${base}/events?${query}`, { headers: { ...headers, ...(stream ? { accept: 'text/event-stream' } : {}) } });
        assert.equal(r.status, 400);
        const body = (await r.json()) as { error: { code: string; message: string; details: { field?: string } } };
        assert.equal(body.error.code, 'INVALID_ARGUMENT');
        assert.equal(body.error.details.field, field);
      });
    }
  }

  it('refuses a page size over 1000', async () => {
    const r = await fetch(`${base}/events?limit=1001`);
    assert.equal(r.status, 400);
  });

  it('describes the event stream media type in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, { get: { responses: Record<string, { content: Record<string, unknown> }>; parameters: { name: string; in: string }[] } }>;
    };
    const op = doc.paths['/api/v1/events']?.get;
    assert.ok(op);
    assert.ok(op.responses['200']?.content['text/event-stream']);
    assert.ok(op.responses['200']?.content['application/json']);
    assert.ok(op.parameters.some((p) => p.name === 'Last-Event-ID' && p.in === 'header'));
  });
});
