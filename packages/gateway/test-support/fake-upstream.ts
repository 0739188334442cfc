import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A dialable OpenAI-compatible server on loopback: the outside world of the gateway's tests.
 * Each behaviour is deterministic (every Nth request fails, a fixed latency, a stream cut after
 * N chunks), so a test can state exactly what the gateway must make of it.
 */
export interface FakeUpstreamBehaviour {
  /** Before the answer's first byte (default 0). */
  latencyMs?: number;
  /** Every Nth request answers 500 (deterministic; 0 = never). */
  errorEvery?: number;
  /** Never answers. */
  hang?: boolean;
  /** 200 with a body that is not JSON. */
  garbage?: boolean;
  /** A stream closes the socket after N chunks. */
  cutStreamAfter?: number;
  /** The assistant's content (default `answer from <name>`). */
  answer?: string;
  /** Streamed answers come in this many chunks (default 4). */
  chunks?: number;
  /** Between chunks. */
  chunkDelayMs?: number;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** GET /v1/models answers 200 (true, default) or 503. */
  healthy?: boolean;
}

export interface FakeUpstream {
  /** http://127.0.0.1:PORT/v1 */
  url: string;
  name: string;
  set(b: Partial<FakeUpstreamBehaviour>): void;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the gateway sent
  requests: Array<{ path: string; body: any; headers: Record<string, string | string[] | undefined> }>;
  /** Requests received on the completion paths (not health probes). */
  count: number;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Splits `text` into `n` pieces (the last takes the rest), none empty unless the text is shorter than n. */
function pieces(text: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, n)));
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(text.slice(i * size, (i + 1) * size));
  return out;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startFakeUpstream(name: string, b: FakeUpstreamBehaviour = {}): Promise<FakeUpstream> {
  let behaviour: FakeUpstreamBehaviour = { ...b };
  const sockets = new Set<Socket>();
  const self: FakeUpstream = {
    url: '',
    name,
    requests: [],
    count: 0,
    set(next) {
      behaviour = { ...behaviour, ...next };
    },
    close: () => closeServer(server, sockets),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    const raw = await readBody(req);
    if (req.method === 'GET' && path === '/v1/models') {
      const ok = behaviour.healthy ?? true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { object: 'list', data: [{ id: name, object: 'model' }] } : { error: { message: `${name} is unhealthy` } }));
      return;
    }
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      // kept as text: the http-protocol tests send anything
    }
    self.requests.push({ path, body, headers: { ...req.headers } });
    self.count++;
    const n = self.count;
    if (behaviour.hang) return;
    if (behaviour.latencyMs) await sleep(behaviour.latencyMs);
    if (behaviour.errorEvery && n % behaviour.errorEvery === 0) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `${name} failed request ${n}`, type: 'server_error' } }));
      return;
    }
    if (behaviour.garbage) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>this is not json</html>');
      return;
    }
    const req0 = (body ?? {}) as Record<string, unknown>;
    const model = typeof req0.model === 'string' ? req0.model : name;
    const answer = behaviour.answer ?? `answer from ${name}`;
    const usage = behaviour.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
    const id = `cmpl-${name}-${n}`;
    const completions = path.endsWith('/completions') && !path.endsWith('/chat/completions');
    if (req0.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      const parts = pieces(answer, behaviour.chunks ?? 4);
      for (let i = 0; i < parts.length; i++) {
        if (behaviour.cutStreamAfter !== undefined && i >= behaviour.cutStreamAfter) {
          res.socket?.destroy();
          return;
        }
        if (i > 0 && behaviour.chunkDelayMs) await sleep(behaviour.chunkDelayMs);
        const last = i === parts.length - 1;
        const choice = completions
          ? { index: 0, text: parts[i], finish_reason: last ? 'stop' : null }
          : { index: 0, delta: i === 0 ? { role: 'assistant', content: parts[i] } : { content: parts[i] }, finish_reason: last ? 'stop' : null };
        const chunk = {
          id,
          object: completions ? 'text_completion' : 'chat.completion.chunk',
          model,
          choices: [choice],
          ...(last ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
        };
        // Each chunk is flushed before the next step, so a cut after N chunks delivers exactly N.
        await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(chunk)}\n\n`, () => resolve()));
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    const choice = completions
      ? { index: 0, text: answer, finish_reason: 'stop' }
      : { index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: completions ? 'text_completion' : 'chat.completion',
        created: 1772980320,
        model,
        choices: [choice],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      }),
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  self.url = `http://127.0.0.1:${await listen(server)}/v1`;
  return self;
}

export interface FakeJudge {
  url: string;
  /** The outputs it was asked to score, in order. */
  scored: string[];
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible judge: the score it answers is `score(output)`, where output is the text
 * after the last `output:` (case-insensitive) in the prompt it was sent, or the whole last user
 * message when there is none.
 */
export async function startFakeJudge(score: (output: string) => number): Promise<FakeJudge> {
  const sockets = new Set<Socket>();
  const scored: string[] = [];
  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        let text = '';
        try {
          const body = JSON.parse(raw) as { messages?: Array<{ role: string; content: string }> };
          const messages = body.messages ?? [];
          text = messages.map((m) => m.content).join('\n');
        } catch {
          text = raw;
        }
        const at = text.toLowerCase().lastIndexOf('output:');
        const output = (at >= 0 ? text.slice(at + 'output:'.length) : text).trim();
        scored.push(output);
        const content = JSON.stringify({ score: score(output) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `judge-${scored.length}`,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
      })
      .catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/v1`, scored, close: () => closeServer(server, sockets) };
}
