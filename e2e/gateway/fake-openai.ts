import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

/**
 * A deterministic OpenAI-compatible server on loopback: the outside world of the gateway tests
 * and benchmark. Every behaviour is dialable per test and may change between requests.
 */
export interface FakeBehaviour {
  /** Before the answer's first byte. */
  latencyMs: number;
  /** Every Nth chat/completions request answers 500 (deterministic; 0 = never). */
  errorEvery: number;
  /** Accept the request, never answer. */
  hang: boolean;
  /** Answer 200 with a body that is not JSON. */
  garbage: boolean;
  /** A streamed answer closes the socket after this many chunks (0 = never). */
  cutStreamAfter: number;
  /** The assistant's content, or a function of the request body (a judge scoring what it is shown). */
  answer: string | ((body: ChatBody) => string);
  /** Streamed answers come in this many content chunks. */
  chunks: number;
  chunkDelayMs: number;
  usage: { prompt_tokens: number; completion_tokens: number };
  /** GET /v1/models answers 200, or 503. */
  healthy: boolean;
}

export interface ChatBody {
  model?: string;
  stream?: boolean;
  messages?: { role: string; content: string }[];
  prompt?: string;
  [k: string]: unknown;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  body: ChatBody | null;
  headers: IncomingHttpHeaders;
  at: number;
}

export interface FakeOpenAI {
  /** The base URL a deployment's upstream names: http://127.0.0.1:PORT/v1 */
  url: string;
  name: string;
  set(b: Partial<FakeBehaviour>): void;
  /** Every request received, health probes included. */
  requests: ReceivedRequest[];
  /** Chat and completions requests only. */
  completions(): ReceivedRequest[];
  /** Requests whose client went away before the answer was complete (a gateway timing out aborts its request). */
  abandoned: number;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fake upstreams a suite starts as it goes, all closed together after it. */
export class FakeUpstreams {
  private readonly started: FakeOpenAI[] = [];

  async start(name: string, behaviour: Parameters<typeof startFakeOpenAI>[1] = {}): Promise<FakeOpenAI> {
    const f = await startFakeOpenAI(name, behaviour);
    this.started.push(f);
    return f;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((f) => f.close()));
  }
}

export async function startFakeOpenAI(name: string, initial: Partial<FakeBehaviour> = {}, opts: { port?: number; record?: boolean } = {}): Promise<FakeOpenAI> {
  const b: FakeBehaviour = {
    latencyMs: 0,
    errorEvery: 0,
    hang: false,
    garbage: false,
    cutStreamAfter: 0,
    answer: `answer from ${name}`,
    chunks: 4,
    chunkDelayMs: 0,
    usage: { prompt_tokens: 7, completion_tokens: 5 },
    healthy: true,
    ...initial,
  };
  const record = opts.record !== false;
  const sockets = new Set<Socket>();
  let seen = 0;
  const fake: FakeOpenAI = {
    url: '',
    name,
    set: (p) => Object.assign(b, p),
    requests: [],
    completions: () => fake.requests.filter((r) => r.path.endsWith('/completions')),
    abandoned: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const answer = async (method: string, path: string, raw: string, headers: IncomingHttpHeaders, res: ServerResponse) => {
    let body: ChatBody | null = null;
    try {
      body = raw ? (JSON.parse(raw) as ChatBody) : null;
    } catch {
      body = null;
    }
    if (record) fake.requests.push({ method, path, body, headers, at: Date.now() });
    let finished = false;
    res.on('finish', () => (finished = true));
    res.on('close', () => {
      if (!finished) fake.abandoned++;
    });
    if (method === 'GET' && path === '/v1/models') {
      if (b.latencyMs) await sleep(b.latencyMs);
      const status = b.healthy ? 200 : 503;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: name, object: 'model' }] }));
      return;
    }
    const chat = path === '/v1/chat/completions';
    if (method !== 'POST' || (!chat && path !== '/v1/completions')) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `no route ${method} ${path}`, type: 'invalid_request_error' } }));
      return;
    }
    if (body === null) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'body is not JSON', type: 'invalid_request_error' } }));
      return;
    }
    seen++;
    if (b.hang) return;
    if (b.latencyMs) await sleep(b.latencyMs);
    if (b.errorEvery > 0 && seen % b.errorEvery === 0) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `${name} failed on purpose`, type: 'server_error' } }));
      return;
    }
    if (b.garbage) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>this is not JSON</html>');
      return;
    }
    const content = typeof b.answer === 'function' ? b.answer(body) : b.answer;
    const id = `chatcmpl-${name}-${seen}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? name;
    const usage = { ...b.usage, total_tokens: b.usage.prompt_tokens + b.usage.completion_tokens };
    if (body.stream !== true) {
      const choice = chat ? { index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' } : { index: 0, text: content, finish_reason: 'stop' };
      const object = chat ? 'chat.completion' : 'text_completion';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, object, created, model, choices: [choice], usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const n = Math.max(1, b.chunks);
    const size = Math.ceil(content.length / n);
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    for (let i = 0; i < n; i++) {
      if (b.cutStreamAfter > 0 && i === b.cutStreamAfter) {
        // Let the chunks written so far reach the reader, then hang up without ending the stream.
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      if (i > 0 && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      const piece = content.slice(i * size, (i + 1) * size);
      const choice = chat
        ? { index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece }, finish_reason: null }
        : { index: 0, text: piece };
      res.write(`data: ${JSON.stringify({ id, object, created, model, choices: [choice] })}\n\n`);
    }
    const last = chat ? { index: 0, delta: {}, finish_reason: 'stop' } : { index: 0, text: '', finish_reason: 'stop' };
    res.write(`data: ${JSON.stringify({ id, object, created, model, choices: [last], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => void answer(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/', raw, req.headers, res));
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}

// Run on its own (the benchmark gives the upstream its own process, as a model server has):
//   tsx e2e/gateway/fake-openai.ts '{"latencyMs": 20}'   prints `listening on http://127.0.0.1:PORT/v1`
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const fake = await startFakeOpenAI('upstream', JSON.parse(process.argv[2] ?? '{}') as Partial<FakeBehaviour>, { record: false });
  console.log(`listening on ${fake.url}`);
  process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
}
