import { Pool, type Dispatcher } from 'undici';

/**
 * Connection pools to upstreams, one per origin, kept alive across requests: a new TCP
 * connection per request would cost more than the gateway's whole overhead budget.
 */
export class Pools {
  private readonly pools = new Map<string, Pool>();

  get(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Lets requests in flight finish for `graceMs`, then cuts what is left (a hung upstream must not hold a shutdown). */
  async close(graceMs: number): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(
      all.map(async (p) => {
        let timer: NodeJS.Timeout | undefined;
        const closed = await Promise.race([p.close().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
        clearTimeout(timer);
        if (!closed) await p.destroy();
      }),
    );
  }
}

export type UpstreamFailure = 'upstream_timeout' | 'upstream_unavailable';

/** What an undici error means to the client: no answer in time (504) or no answer at all (502). */
export function failureOf(err: unknown): UpstreamFailure {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? 'upstream_timeout' : 'upstream_unavailable';
}

/** Reads a whole (small, JSON) upstream answer. */
export async function readAll(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/**
 * Reads an OpenAI server-sent event stream on the side, as its bytes pass through to the
 * client: the answer's text (choice 0's deltas, or `text` for completions) and `usage`.
 */
export class SseCollector {
  text = '';
  tokensIn = 0;
  tokensOut = 0;
  private buf = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): void {
    this.buf += this.decoder.decode(chunk, { stream: true });
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '' || data === '[DONE]') continue;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(data) as Record<string, unknown>;
      } catch {
        continue;
      }
      const choice = (event.choices as Array<Record<string, unknown>> | undefined)?.[0];
      const piece = (choice?.delta as { content?: unknown } | undefined)?.content ?? choice?.text;
      if (typeof piece === 'string') this.text += piece;
      this.usage(event.usage);
    }
  }

  usage(u: unknown): void {
    if (u === null || typeof u !== 'object') return;
    const { prompt_tokens: i, completion_tokens: o } = u as Record<string, unknown>;
    if (typeof i === 'number' && i >= 0) this.tokensIn = Math.floor(i);
    if (typeof o === 'number' && o >= 0) this.tokensOut = Math.floor(o);
  }
}

/** Choice 0's text of a non-streamed answer, and its usage; null when the body is not what the OpenAI protocol promises. */
export function readAnswer(bytes: Buffer, chat: boolean): { output: string | null; tokensIn: number; tokensOut: number } | null {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { choices?: unknown }).choices)) return null;
  const b = body as { choices: Array<Record<string, unknown>>; usage?: unknown };
  const choice = b.choices[0];
  const text = chat ? (choice?.message as { content?: unknown } | undefined)?.content : choice?.text;
  const c = new SseCollector();
  c.usage(b.usage);
  return { output: typeof text === 'string' ? text : null, tokensIn: c.tokensIn, tokensOut: c.tokensOut };
}
