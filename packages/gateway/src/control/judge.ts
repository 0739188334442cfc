import { parseJudgeScore, type Judge as JudgeConfig, type RenderedPrompt } from '@berth/core';
import type { BerthClient } from '@berth/sdk';
import type { RequestOutcome } from '../contract.js';

/** Judge calls in flight across the gateway; a sampled answer beyond them is dropped (counted), never queued. */
const MAX_IN_FLIGHT = 8;

// The rubric is rendered once per pin with these stand-ins, then filled in per answer: one
// registry read per rubric rather than one per judged answer.
const INPUT_MARK = '\u0000berth-judge-input\u0000';
const OUTPUT_MARK = '\u0000berth-judge-output\u0000';

export interface JudgeCounters {
  sampled: number;
  scored: number;
  /** The judge answered with no number in [0, 1]. */
  unparsed: number;
  /** The judge or the rubric could not be reached, answered non-2xx, or timed out. */
  failed: number;
  /** Sampled while MAX_IN_FLIGHT calls were already out. */
  dropped: number;
}

interface ChatMessage {
  role: string;
  content: string;
}

/**
 * Scores a sampled share of answers with an OpenAI-compatible judge: the rubric prompt version
 * (rendered through the registry with `{{ input }}` and `{{ output }}`) is sent to
 * `judge.url + /chat/completions`, and the first score found in the answer (parseJudgeScore)
 * is handed to `onScore`.
 */
export class Judge {
  private inFlight = 0;
  private readonly rubrics = new Map<string, Promise<ChatMessage[]>>();
  private readonly counters = new Map<string, JudgeCounters>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly client: BerthClient,
    private readonly onScore: (deployment: string, version: number, score: number) => void,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void,
    private readonly random: () => number = Math.random,
  ) {}

  countersOf(deployment: string): JudgeCounters {
    let c = this.counters.get(deployment);
    if (!c) {
      c = { sampled: 0, scored: 0, unparsed: 0, failed: 0, dropped: 0 };
      this.counters.set(deployment, c);
    }
    return c;
  }

  consider(o: RequestOutcome, judge: JudgeConfig | null): void {
    if (!judge || o.output === null || o.error || this.random() >= judge.sample) return;
    const c = this.countersOf(o.deployment);
    c.sampled++;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      c.dropped++;
      return;
    }
    this.inFlight++;
    const p = this.score(o, o.output, judge, c).finally(() => {
      this.inFlight--;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  /** Resolves when every judge call out now has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async score(o: RequestOutcome, output: string, judge: JudgeConfig, c: JudgeCounters): Promise<void> {
    try {
      const rubric = await this.rubric(judge.rubric);
      const messages = rubric.map((m) => ({ role: m.role, content: fill(m.content, inputText(o.input), output) }));
      const res = await fetch(`${judge.url.replace(/\/+$/, '')}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: judge.model, messages, stream: false }),
        signal: AbortSignal.timeout(judge.timeout_ms),
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`the judge answered ${res.status}`);
      }
      const body = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
      const content = body.choices?.[0]?.message?.content;
      const score = typeof content === 'string' ? parseJudgeScore(content) : null;
      if (score === null) {
        c.unparsed++;
        this.log('warn', 'judge answer holds no score in [0, 1]', { deployment: o.deployment, request_id: o.requestId });
        return;
      }
      c.scored++;
      this.onScore(o.deployment, o.version, score);
    } catch (err) {
      c.failed++;
      this.log('warn', 'judge call failed', { deployment: o.deployment, request_id: o.requestId, error: String((err as Error)?.message ?? err) });
    }
  }

  private rubric(pin: string): Promise<ChatMessage[]> {
    let r = this.rubrics.get(pin);
    if (!r) {
      r = this.client.renderPrompt(pin, { input: INPUT_MARK, output: OUTPUT_MARK }).then(asMessages);
      // A failed read is forgotten so the next sampled answer tries the registry again.
      r.catch(() => this.rubrics.delete(pin));
      this.rubrics.set(pin, r);
    }
    return r;
  }
}

function asMessages(p: RenderedPrompt): ChatMessage[] {
  if (p.format === 'chat' && p.messages) return p.messages;
  return [{ role: 'user', content: p.text ?? '' }];
}

function fill(template: string, input: string, output: string): string {
  return template
    .split(INPUT_MARK)
    .map((part) => part.split(OUTPUT_MARK).join(output))
    .join(input);
}

/** The request as the judge reads it: a completion's prompt, chat messages as `role: content` lines, anything else as JSON. */
export function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  const body = input as { messages?: unknown; prompt?: unknown } | null;
  if (body && Array.isArray(body.messages))
    return body.messages
      .map(
        (m: { role?: unknown; content?: unknown }) =>
          `${String(m?.role ?? 'user')}: ${typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content)}`,
      )
      .join('\n');
  if (body && typeof body.prompt === 'string') return body.prompt;
  return JSON.stringify(input) ?? '';
}
