import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { secretBytes, verify } from '../src/webhooks/signature.js';

export interface ReceivedCall {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The Standard Webhooks signature checked out against the secret given for the path. */
  signed: boolean;
  at: number;
}

/** How the receiver answers a call to a path: a status, or `hang` (accept, never answer). */
export type Answer = number | 'hang';

/**
 * A webhook receiver on 127.0.0.1 for tests and benchmarks: records every call, checks its
 * signature with the secret registered for its path, and answers as told (per path, a queue of
 * answers then a default) so tests can make an endpoint fail, recover or hang.
 */
export class WebhookReceiver {
  readonly calls: ReceivedCall[] = [];
  private readonly secrets = new Map<string, Buffer>();
  private readonly answers = new Map<string, Answer[]>();
  private readonly defaults = new Map<string, Answer>();
  private readonly hanging = new Set<ServerResponse>();
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let self: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => self?.handle(req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new WebhookReceiver(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** The secret calls to `path` must be signed with (a `whsec_…` Standard Webhooks secret). */
  expect(path: string, secret: string): void {
    this.secrets.set(path, secretBytes(secret));
  }

  /** The next answers to `path`, in order, then `then` for every call after them. */
  answer(path: string, answers: Answer[], then: Answer = 200): void {
    this.answers.set(path, [...answers]);
    this.defaults.set(path, then);
  }

  on(path: string): ReceivedCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  /** Resolves once `pred` holds over the calls (checked on every call), or rejects after `ms`. */
  async waitFor(pred: (calls: ReceivedCall[]) => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.calls)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`receiver: condition not met within ${ms} ms (${this.calls.length} calls)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private handle(path: string, headers: IncomingHttpHeaders, body: string, res: ServerResponse): void {
    const key = this.secrets.get(path);
    const signed =
      key !== undefined && verify(key, String(headers['webhook-id']), String(headers['webhook-timestamp']), body, String(headers['webhook-signature'] ?? ''));
    this.calls.push({ path, headers, body, signed, at: Date.now() });
    const queued = this.answers.get(path);
    const a = (queued && queued.length > 0 ? queued.shift() : this.defaults.get(path)) ?? 200;
    if (a === 'hang') this.hanging.add(res);
    else res.writeHead(a, { 'content-type': 'text/plain' }).end(a < 300 ? 'ok' : 'no');
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
