import {
  BUNDLE_MANIFEST_PATH,
  BerthError,
  MAX_PROMPT_FILE_BYTES,
  PROMPT_FILES,
  parseChatTemplate,
  parsePromptExamples,
  parsePromptParams,
  promptVariables,
  renderPrompt,
  sha256Hex,
  type BundleManifest,
  type ChatMessage,
  type PromptTemplate,
} from '@berth/core';
import type { BerthClient } from '@berth/sdk';

/** Why a version may not be routed to: its bytes are not what the registry's manifest promises, or its parts do not load. */
export class Refusal extends Error {}

/** A bundle version's pinned parts, loaded and checked once, then used for every request it serves. */
export interface LoadedBundle {
  base: string;
  /** The first adapter's model name, or null for a bundle without adapters. */
  adapter: string | null;
  template: PromptTemplate | null;
  variables: string[];
  /** Few-shot turns, already rendered: a user/assistant pair per example. */
  examples: ChatMessage[];
  /** The prompt's params.json with the bundle's `params` over it: these win over the client's. */
  params: Record<string, unknown>;
}

interface FileEntry {
  path: string;
  size: number;
  sha256: string;
}

/** One file of a version, its sha256 checked against the manifest entry the registry signed off. */
async function readVerified(client: BerthClient, model: string, version: number, entry: FileEntry, limit: number): Promise<string> {
  const where = `${model}:${version} ${entry.path}`;
  if (entry.size > limit) throw new Refusal(`${where} is ${entry.size} bytes, over the ${limit} the gateway loads`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await (await client.openFile(model, version, entry.path)).arrayBuffer());
  } catch (err) {
    if (err instanceof BerthError && err.code === 'NOT_FOUND') throw new Refusal(`${where} is missing from the registry`);
    throw err;
  }
  const got = sha256Hex(bytes);
  if (got !== entry.sha256) throw new Refusal(`${where} has sha256 ${got}, not ${entry.sha256} as its manifest says`);
  return new TextDecoder().decode(bytes);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function component(v: unknown, role: string): { model: string; version: number; files: FileEntry[] } {
  if (!isObject(v) || typeof v.model !== 'string' || !Number.isInteger(v.version) || !Array.isArray(v.files))
    throw new Refusal(`${BUNDLE_MANIFEST_PATH} has no valid ${role} component`);
  return v as { model: string; version: number; files: FileEntry[] };
}

/**
 * Few-shot examples as chat turns. An example with `input` and `output` strings is a user turn
 * and an assistant turn as written; one with `variables` (or `inputs`) and an `output` string
 * has its user turn rendered through the template's last user message (for a text template,
 * the whole text), so examples follow the template when it changes.
 */
function exampleTurns(examples: unknown[], template: PromptTemplate): ChatMessage[] {
  const userTemplate: PromptTemplate | null =
    template.format === 'text'
      ? template
      : (() => {
          const last = [...template.messages].reverse().find((m) => m.role === 'user');
          return last ? { format: 'text', text: last.content } : null;
        })();
  const turns: ChatMessage[] = [];
  examples.forEach((ex, i) => {
    const e = ex as Record<string, unknown>;
    if (typeof e.output !== 'string') throw new Refusal(`${PROMPT_FILES.examples} example ${i} has no "output" string`);
    let input: string;
    if (typeof e.input === 'string') input = e.input;
    else {
      const vars = e.variables ?? e.inputs;
      if (!isObject(vars) || !userTemplate)
        throw new Refusal(`${PROMPT_FILES.examples} example ${i} needs an "input" string, or "variables" and a template with a user message`);
      const values: Record<string, string> = {};
      for (const name of promptVariables(userTemplate)) values[name] = String(vars[name] ?? '');
      input = (renderPrompt(userTemplate, values) as { text: string }).text;
    }
    turns.push({ role: 'user', content: input }, { role: 'assistant', content: e.output });
  });
  return turns;
}

/** Reads a bundle version's `berth-bundle.json` and its prompt component's files, every byte checked. */
export async function loadBundle(client: BerthClient, model: string, version: number, files: readonly FileEntry[]): Promise<LoadedBundle> {
  const entry = files.find((f) => f.path === BUNDLE_MANIFEST_PATH);
  if (!entry) throw new Refusal(`${model}:${version} is a bundle without ${BUNDLE_MANIFEST_PATH}`);
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(await readVerified(client, model, version, entry, MAX_PROMPT_FILE_BYTES)) as BundleManifest;
  } catch (err) {
    if (err instanceof SyntaxError) throw new Refusal(`${model}:${version} ${BUNDLE_MANIFEST_PATH} is not JSON`);
    throw err;
  }
  if (!isObject(manifest)) throw new Refusal(`${model}:${version} ${BUNDLE_MANIFEST_PATH} is not a JSON object`);
  const base = component(manifest.base, 'base');
  const adapters = Array.isArray(manifest.adapters) ? manifest.adapters.map((a, i) => component(a, `adapters[${i}]`)) : [];
  const bundleParams = isObject(manifest.params) ? manifest.params : {};
  let template: PromptTemplate | null = null;
  let examples: ChatMessage[] = [];
  let params: Record<string, unknown> = {};
  if (manifest.prompt) {
    const p = component(manifest.prompt, 'prompt');
    const read = (path: string) => {
      const f = p.files.find((x) => x.path === path);
      return f ? readVerified(client, p.model, p.version, f, MAX_PROMPT_FILE_BYTES) : Promise.resolve(null);
    };
    const [chat, text, ex, par] = await Promise.all([read(PROMPT_FILES.chat), read(PROMPT_FILES.text), read(PROMPT_FILES.examples), read(PROMPT_FILES.params)]);
    try {
      template = chat !== null ? parseChatTemplate(chat) : text !== null ? { format: 'text', text } : null;
      if (!template) throw new Refusal(`prompt ${p.model}:${p.version} has neither ${PROMPT_FILES.chat} nor ${PROMPT_FILES.text}`);
      if (ex !== null) examples = exampleTurns(parsePromptExamples(ex, promptVariables(template)), template);
      if (par !== null) params = parsePromptParams(par);
    } catch (err) {
      if (err instanceof BerthError) throw new Refusal(`prompt ${p.model}:${p.version}: ${err.message}`);
      throw err;
    }
  }
  return {
    base: base.model,
    adapter: adapters[0]?.model ?? null,
    template,
    variables: template ? promptVariables(template) : [],
    examples,
    params: { ...params, ...bundleParams },
  };
}

/** The `model` sent upstream: the upstream's template, else the first adapter of a bundle, else the registry model's name. */
export function upstreamModel(template: string | null, model: string, version: number, bundle: LoadedBundle | null): string {
  if (template === null) return bundle?.adapter ?? model;
  return template.replace(/\{(model|version|adapter|base)\}/g, (_, k: string) =>
    k === 'model' ? model : k === 'version' ? String(version) : k === 'adapter' ? (bundle?.adapter ?? model) : (bundle?.base ?? model),
  );
}

/** A client mistake in a bundle request (a variable missing or not declared): a 400 naming it. */
export class RenderError extends Error {}

function variablesOf(raw: unknown, bundle: LoadedBundle): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new RenderError('"variables" must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new RenderError(`variable '${k}' must be a string`);
    out[k] = v;
  }
  const missing = bundle.variables.filter((v) => !Object.hasOwn(out, v));
  if (missing.length) throw new RenderError(`missing prompt variable ${missing.map((v) => `'${v}'`).join(', ')}: send it in "variables"`);
  const undeclared = Object.keys(out).filter((v) => !bundle.variables.includes(v));
  if (undeclared.length)
    throw new RenderError(
      `undeclared prompt variable ${undeclared.map((v) => `'${v}'`).join(', ')}: the prompt declares ${bundle.variables.join(', ') || 'none'}`,
    );
  return out;
}

/**
 * The body a bundle version is sent: the pinned prompt rendered with the request's `variables`
 * (a chat template's messages, or a text template as one system message), the few-shot turns,
 * then the client's messages; the pinned parameters over the client's. On `/v1/completions` the
 * same parts are joined into the prompt text, each separated by a blank line.
 */
export function renderBundle(body: Record<string, unknown>, bundle: LoadedBundle, chat: boolean): Record<string, unknown> {
  const { variables, ...rest } = body;
  const vars = variablesOf(variables, bundle);
  const rendered = bundle.template ? renderPrompt(bundle.template, vars) : null;
  const head: ChatMessage[] = rendered ? (rendered.format === 'chat' ? rendered.messages : [{ role: 'system', content: rendered.text }]) : [];
  const out: Record<string, unknown> = { ...rest, ...bundle.params };
  if (chat) {
    if (rest.messages !== undefined && !Array.isArray(rest.messages)) throw new RenderError('"messages" must be a list');
    out.messages = [...head, ...bundle.examples, ...((rest.messages as unknown[] | undefined) ?? [])];
  } else {
    if (rest.prompt !== undefined && typeof rest.prompt !== 'string') throw new RenderError('"prompt" must be a string for a bundle deployment');
    const parts = [...head, ...bundle.examples].map((m) => m.content);
    if (typeof rest.prompt === 'string') parts.push(rest.prompt);
    out.prompt = parts.join('\n\n');
  }
  return out;
}
