import { Type, type Static } from '@sinclair/typebox';
import { invalid } from './errors.js';

/**
 * Prompt templates as MLflow's prompt registry writes them (mlflow/prompt/constants.py
 * `PROMPT_TEMPLATE_VARIABLE_PATTERN`): `{{ name }}` with optional spaces, a name of letters,
 * digits and `_`, dotted segments allowed. Anything else between braces is literal text.
 */
const VARIABLE = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)\s*\}\}/g;

/** The files a prompt version is made of (decision 0018). */
export const PROMPT_FILES = { text: 'prompt.txt', chat: 'prompt.json', examples: 'examples.json', params: 'params.json' } as const;

/** Largest template, examples or parameters file the registry reads at push. */
export const MAX_PROMPT_FILE_BYTES = 1024 * 1024;

export interface ChatMessage {
  role: string;
  content: string;
}

export type PromptTemplate = { format: 'text'; text: string } | { format: 'chat'; messages: ChatMessage[] };

/** A chat template: a JSON list of `{role, content}` with string values, as `register_prompt` stores it. */
export function parseChatTemplate(source: string): PromptTemplate {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw invalid(`${PROMPT_FILES.chat} is not JSON: a chat template is a list of {"role", "content"} messages`, { field: PROMPT_FILES.chat });
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw invalid(`${PROMPT_FILES.chat} must be a non-empty list of {"role", "content"} messages`, { field: PROMPT_FILES.chat });
  }
  const messages = parsed.map((m: unknown, i) => {
    const { role, content } = (m ?? {}) as Record<string, unknown>;
    if (typeof role !== 'string' || typeof content !== 'string' || Object.keys(m as object).length !== 2) {
      throw invalid(`${PROMPT_FILES.chat} message ${i} must be {"role": string, "content": string}`, { field: PROMPT_FILES.chat, index: i });
    }
    return { role, content };
  });
  return { format: 'chat', messages };
}

/** The variables a template declares, each once, in order of first use. */
export function promptVariables(t: PromptTemplate): string[] {
  const texts = t.format === 'text' ? [t.text] : t.messages.map((m) => m.content);
  const seen = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(VARIABLE)) seen.add(m[1] as string);
  return [...seen];
}

/**
 * Fills a template. Every declared variable must be given and every given one declared: a
 * misspelt `--var` would otherwise render a prompt silently missing its value.
 */
export function renderPrompt(t: PromptTemplate, vars: Readonly<Record<string, string>>): PromptTemplate {
  const declared = promptVariables(t);
  const missing = declared.filter((v) => !Object.hasOwn(vars, v));
  if (missing.length)
    throw invalid(`missing prompt variable ${missing.map((v) => `'${v}'`).join(', ')}: give each with --var name=value`, { variables: missing });
  const undeclared = Object.keys(vars).filter((v) => !declared.includes(v));
  if (undeclared.length) {
    throw invalid(
      `undeclared prompt variable ${undeclared.map((v) => `'${v}'`).join(', ')}: the template declares ${declared.length ? declared.join(', ') : 'none'}`,
      { variables: undeclared },
    );
  }
  const fill = (text: string) => text.replace(VARIABLE, (_, name: string) => vars[name] as string);
  return t.format === 'text'
    ? { format: 'text', text: fill(t.text) }
    : { format: 'chat', messages: t.messages.map((m) => ({ role: m.role, content: fill(m.content) })) };
}

/**
 * Few-shot examples: a JSON list of objects. An example's `variables` (or `inputs`), when
 * present, may only name variables the template declares, so examples cannot drift from it.
 */
export function parsePromptExamples(source: string, declared: readonly string[]): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw invalid(`${PROMPT_FILES.examples} is not JSON: few-shot examples are a JSON list`, { field: PROMPT_FILES.examples });
  }
  if (!Array.isArray(parsed)) throw invalid(`${PROMPT_FILES.examples} must be a JSON list of examples`, { field: PROMPT_FILES.examples });
  parsed.forEach((ex: unknown, i) => {
    if (ex === null || typeof ex !== 'object' || Array.isArray(ex)) {
      throw invalid(`${PROMPT_FILES.examples} example ${i} must be a JSON object`, { field: PROMPT_FILES.examples, index: i });
    }
    const vars = (ex as Record<string, unknown>).variables ?? (ex as Record<string, unknown>).inputs;
    if (vars !== null && typeof vars === 'object') {
      const undeclared = Object.keys(vars).filter((v) => !declared.includes(v));
      if (undeclared.length) {
        throw invalid(
          `${PROMPT_FILES.examples} example ${i} uses undeclared variable '${undeclared[0]}': the template declares ${declared.join(', ') || 'none'}`,
          {
            field: PROMPT_FILES.examples,
            index: i,
            variables: undeclared,
          },
        );
      }
    }
  });
  return parsed;
}

/** Model parameters (`params.json`): one JSON object of numbers, strings, booleans or null. */
export function parsePromptParams(source: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw invalid(`${PROMPT_FILES.params} is not JSON: model parameters are one JSON object`, { field: PROMPT_FILES.params });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid(`${PROMPT_FILES.params} must be a JSON object of parameters`, { field: PROMPT_FILES.params });
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (v !== null && typeof v === 'object')
      throw invalid(`model parameter '${k}' must be a number, string, boolean or null`, { field: PROMPT_FILES.params, key: k });
  }
  return parsed as Record<string, unknown>;
}

/** `name=value` as `--param` and `--var` give it; for parameters a JSON scalar value is kept typed (`0.2`, `true`). */
export function parseAssignment(text: string, what: string, typed: boolean): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw invalid(`${what} ${JSON.stringify(text)} must be name=value`, { field: what });
  const name = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  if (!typed) return [name, raw];
  try {
    const v: unknown = JSON.parse(raw);
    return [name, v !== null && typeof v === 'object' ? raw : v];
  } catch {
    return [name, raw];
  }
}

/** What the registry records of a prompt version at commit, as `metadata.prompt`. */
export interface PromptFacts {
  format: PromptTemplate['format'];
  variables: string[];
}

/** Body of `POST /api/v1/models/{name}/versions/{ref}/render`: every variable the template declares, and no other. */
export const RenderPromptBody = Type.Object({ variables: Type.Optional(Type.Record(Type.String(), Type.String())) }, { additionalProperties: false });
export type RenderPromptBody = Static<typeof RenderPromptBody>;

/** A rendered prompt version: `text` for a text template, `messages` for a chat one, with its examples and parameters as stored. */
export const RenderedPromptSchema = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  digest: Type.String(),
  format: Type.Union([Type.Literal('text'), Type.Literal('chat')]),
  text: Type.Optional(Type.String()),
  messages: Type.Optional(Type.Array(Type.Object({ role: Type.String(), content: Type.String() }))),
  params: Type.Record(Type.String(), Type.Unknown()),
  examples: Type.Array(Type.Unknown()),
});
export type RenderedPrompt = Static<typeof RenderedPromptSchema>;
