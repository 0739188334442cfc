import { Type, type Static } from '@sinclair/typebox';
import { parseDocument, stringify } from 'yaml';
import { noAliases } from './yaml-aliases.js';
import { invalid } from './errors.js';

/** Largest card the registry stores (it is kept in the version's metadata, decision 0018). */
export const MAX_CARD_BYTES = 256 * 1024;

/** The metadata key an edited card is kept under. */
export const CARD_METADATA_KEY = 'berth.card';

/** Front matter keys of the Hub's model card (huggingface_hub `ModelCardData`) taken from a version's metadata as is. */
const HUB_KEYS = ['license', 'base_model', 'library_name', 'pipeline_tag', 'language', 'datasets'] as const;

/** Where a version's card comes from, in the order they win (decision 0018). */
export const CARD_SOURCES = ['edited', 'file', 'generated'] as const;

/** A version's card on the wire: its Markdown text and its front matter parsed. */
export const CardSchema = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  source: Type.Union(CARD_SOURCES.map((s) => Type.Literal(s))),
  text: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});
export type Card = Static<typeof CardSchema>;

export const PutCardBody = Type.Object({ text: Type.String() }, { additionalProperties: false });
export type PutCardBody = Static<typeof PutCardBody>;

export interface CardEvaluation {
  metrics: Record<string, number>;
  dataset: string | null;
  source: string | null;
  measured_at: string;
}

export interface CardSource {
  model: string;
  version: number;
  kind: string;
  digest: string;
  description: string;
  metadata: Record<string, unknown>;
  tags: Record<string, string>;
  evaluations: readonly CardEvaluation[];
}

export interface ParsedCard {
  frontMatter: Record<string, unknown>;
  body: string;
}

/** Splits a card into its YAML front matter (a mapping, possibly empty) and its Markdown body; bad YAML is refused naming its line. */
export function parseCard(text: string): ParsedCard {
  if (new TextEncoder().encode(text).length > MAX_CARD_BYTES) throw invalid(`the card is over ${MAX_CARD_BYTES / 1024} KiB`, { field: 'card' });
  const m = /^---\r?\n([\s\S]*?)\r?\n?---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return { frontMatter: {}, body: text };
  const doc = parseDocument(m[1] as string, { prettyErrors: false });
  const [err] = doc.errors;
  if (err) throw invalid(`card front matter line ${err.linePos?.[0].line ?? 1}: ${err.message.split('\n')[0]}`, { field: 'card' });
  const fm: unknown = noAliases(() => doc.toJS({ maxAliasCount: 0 }), 'card front matter', 'card') ?? {};
  if (typeof fm !== 'object' || Array.isArray(fm)) throw invalid('card front matter must be a YAML mapping of keys', { field: 'card' });
  return { frontMatter: fm as Record<string, unknown>, body: text.slice(m[0].length) };
}

/** The Hub's `model-index`: one result per recorded evaluation, newest first. */
function modelIndex(src: CardSource): unknown[] {
  const task = typeof src.metadata.pipeline_tag === 'string' ? { type: src.metadata.pipeline_tag } : { type: src.kind };
  const results = src.evaluations.map((e) => ({
    task,
    ...(e.dataset ? { dataset: { name: e.dataset, type: e.dataset } } : {}),
    metrics: Object.entries(e.metrics).map(([name, value]) => ({ type: name, value, name })),
    source: { name: e.source ?? 'berth', url: `berth:${src.model}:${src.version}` },
  }));
  return [{ name: src.model, results }];
}

/** A card generated from a version's metadata and recorded evaluations, for a version without README.md or an edited card. */
export function generateCard(src: CardSource): string {
  const fm: Record<string, unknown> = {};
  for (const k of HUB_KEYS) if (src.metadata[k] !== undefined) fm[k] = src.metadata[k];
  const tags = [src.kind, ...Object.keys(src.tags).filter((k) => !k.startsWith('mlflow.'))];
  if (Array.isArray(src.metadata.tags)) tags.push(...src.metadata.tags.filter((t): t is string => typeof t === 'string'));
  fm.tags = [...new Set(tags)];
  if (src.evaluations.length) fm['model-index'] = modelIndex(src);
  const body = [
    `# ${src.model}:${src.version}`,
    '',
    src.description || `${/^[aeiou]/.test(src.kind) ? 'An' : 'A'} ${src.kind} version registered in Berth.`,
    '',
    `- Digest: \`${src.digest}\``,
    `- Pull: \`berth pull ${src.model}:${src.version}\``,
    '',
  ];
  if (src.evaluations.length) {
    body.push('## Evaluation', '', '| dataset | metric | value | measured |', '| --- | --- | --- | --- |');
    for (const e of src.evaluations) for (const [k, v] of Object.entries(e.metrics)) body.push(`| ${e.dataset ?? ''} | ${k} | ${v} | ${e.measured_at} |`);
    body.push('');
  }
  return `---\n${stringify(fm, { lineWidth: 0 })}---\n\n${body.join('\n')}`;
}

/**
 * A line diff of two cards in the unified format (3 lines of context), empty when they are the
 * same. Cards are small (≤ 256 KiB), so the longest common subsequence is computed directly.
 */
export function diffCards(a: string, b: string, labelA: string, labelB: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const next = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) row[j] = x[i] === y[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
  }
  const ops: { op: ' ' | '-' | '+'; line: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) ops.push({ op: ' ', line: x[i++] as string, ai: i, bi: ++j });
    else if (i < n && (j === m || ((lcs[i + 1] as Uint32Array)[j] as number) >= ((lcs[i] as Uint32Array)[j + 1] as number)))
      ops.push({ op: '-', line: x[i++] as string, ai: i, bi: j });
    else ops.push({ op: '+', line: y[j++] as string, ai: i, bi: j });
  }
  const changed = ops.map((o, k) => (o.op === ' ' ? -1 : k)).filter((k) => k >= 0);
  if (!changed.length) return '';
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] as number) - 3);
    let end = (changed[k] as number) + 3;
    while (k + 1 < changed.length && (changed[k + 1] as number) - 3 <= end + 1) end = (changed[++k] as number) + 3;
    k++;
    const hunk = ops.slice(start, Math.min(ops.length, end + 1));
    // Both texts have at least one line, so every hunk holds a line of each side.
    const aStart = (hunk.find((o) => o.op !== '+') as { ai: number }).ai;
    const bStart = (hunk.find((o) => o.op !== '-') as { bi: number }).bi;
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`, ...hunk.map((o) => `${o.op}${o.line}`));
  }
  return `${out.join('\n')}\n`;
}
