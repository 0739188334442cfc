import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { noAliases } from './yaml-aliases.js';
import { invalid } from './errors.js';
import { parseReference } from './reference.js';

const closed = { additionalProperties: false } as const;
const Text = Type.String({ minLength: 1, maxLength: 1024 });
const Weight = Type.Number({ minimum: 0, maximum: 1 });

/** A RAG configuration (decision 0018): which index, which embedding model by pin, how text is chunked and retrieved. */
export const RagConfigSchema = Type.Object(
  {
    index: Type.Object({ name: Text, snapshot: Text }, closed),
    embedding_model: Type.String({ minLength: 1, maxLength: 300 }),
    chunking: Type.Object(
      {
        size: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
        overlap: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
        strategy: Type.Union(['fixed', 'recursive', 'sentence', 'token', 'semantic', 'markdown'].map((s) => Type.Literal(s))),
      },
      closed,
    ),
    retriever: Type.Object(
      {
        top_k: Type.Integer({ minimum: 1, maximum: 10_000 }),
        score_threshold: Type.Optional(Type.Number()),
        hybrid: Type.Optional(Type.Object({ dense: Weight, sparse: Weight }, closed)),
        reranker: Type.Optional(Text),
      },
      closed,
    ),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  closed,
);
export type RagConfig = Static<typeof RagConfigSchema>;

/** The file names a rag-config version's configuration may have; the first present is read. */
export const RAG_CONFIG_FILES = ['rag.yaml', 'rag.yml', 'rag.json'] as const;

/** An embedding model pin as written: by digest (kept) or by version number (resolved to its digest at push). */
export type EmbeddingPin = { name: string; digest: string } | { name: string; version: number };

export function parseEmbeddingPin(text: string): EmbeddingPin {
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(text);
  } catch {
    throw invalid(`embedding_model ${JSON.stringify(text)} is not a reference: pin it as name@sha256:<64 hex> or name:N`, { field: 'embedding_model' });
  }
  if (ref.selector.kind === 'digest') return { name: ref.name, digest: ref.selector.digest };
  if (ref.selector.kind === 'version') return { name: ref.name, version: ref.selector.version };
  throw invalid(`embedding_model ${JSON.stringify(text)} floats (an alias or a bare name): pin it as name@sha256:<64 hex> or name:N`, {
    field: 'embedding_model',
  });
}

function pathOf(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Parses and checks a RAG configuration (YAML or JSON, JSON being YAML). The first problem is
 * refused naming its key and, when the file has one, its line.
 */
export function parseRagConfig(source: string, file: string): RagConfig {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const [syntax] = doc.errors;
  if (syntax) {
    const line = lines.linePos(syntax.pos[0]).line;
    throw invalid(`${file} line ${line}: ${syntax.message.split('\n')[0]}`, { field: file, line });
  }
  const value: unknown = noAliases(() => doc.toJS({ maxAliasCount: 0 }), file, file);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${file} must be a mapping of keys`, { field: file });
  const where = (path: string[]) => {
    const node = doc.getIn(path, true);
    return isNode(node) && node.range ? ` (line ${lines.linePos(node.range[0]).line})` : '';
  };
  const cfg = value as Record<string, unknown>;
  if (!('embedding_model' in cfg))
    throw invalid(`${file}: missing key 'embedding_model': pin the embedding model as name@sha256:<64 hex> or name:N`, { field: 'embedding_model' });
  const [first] = Value.Errors(RagConfigSchema, cfg);
  if (first) {
    const path = pathOf(first.path);
    const key = path.join('.');
    // A missing key has no line of its own: its parent's is the place to add it.
    const line = first.value === undefined ? where(path.slice(0, -1)) : where(path);
    throw invalid(`${file}: key '${key}'${line} ${first.message.toLowerCase()}`, { field: key });
  }
  const c = cfg as RagConfig;
  if (c.chunking.overlap >= c.chunking.size) {
    throw invalid(`${file}: key 'chunking.overlap'${where(['chunking', 'overlap'])} must be smaller than chunking.size`, { field: 'chunking.overlap' });
  }
  if (c.retriever.hybrid && Math.abs(c.retriever.hybrid.dense + c.retriever.hybrid.sparse - 1) > 1e-9) {
    throw invalid(`${file}: key 'retriever.hybrid'${where(['retriever', 'hybrid'])} weights must add up to 1`, { field: 'retriever.hybrid' });
  }
  parseEmbeddingPin(c.embedding_model);
  return c;
}
