import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEmbeddingPin, parseRagConfig } from './rag-config.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const RAG = `index:
  name: support-docs
  snapshot: 2026-11-01
embedding_model: bge-small@${DIGEST}
chunking:
  size: 512
  overlap: 64
  strategy: recursive
retriever:
  top_k: 5
  score_threshold: 0.3
  hybrid: { dense: 0.7, sparse: 0.3 }
`;
const refused = (src: string, pattern: RegExp, file = 'rag.yaml') =>
  assert.throws(
    () => parseRagConfig(src, file),
    (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && pattern.test(e.message),
  );

test('a complete RAG config parses from YAML and from JSON', () => {
  const cfg = parseRagConfig(RAG, 'rag.yaml');
  assert.equal(cfg.index.snapshot, '2026-11-01');
  assert.deepEqual(cfg.retriever.hybrid, { dense: 0.7, sparse: 0.3 });
  assert.deepEqual(parseRagConfig(JSON.stringify({ ...cfg, embedding_model: 'bge-small:3' }), 'rag.json').embedding_model, 'bge-small:3');
});

test('a config without its embedding model is refused naming the key', () => {
  refused(RAG.replace(/embedding_model.*\n/, ''), /missing key 'embedding_model'/);
});

test('schema errors name the key and its line', () => {
  refused(RAG.replace('top_k: 5', 'top_k: 0'), /key 'retriever.top_k' \(line 10\) expected integer/);
  refused(RAG.replace('  top_k: 5\n', '  top_k: 5\n  colour: red\n'), /key 'retriever.colour' \(line 11\) unexpected property/);
  refused(RAG.replace('  snapshot: 2026-11-01\n', ''), /key 'index.snapshot' \(line 2\) expected required property/);
  refused(RAG.replace('recursive', 'zigzag'), /key 'chunking.strategy' \(line 8\)/);
  refused(RAG.replace('overlap: 64', 'overlap: 512'), /key 'chunking.overlap' \(line 7\) must be smaller than chunking.size/);
  refused(RAG.replace('sparse: 0.3', 'sparse: 0.5'), /key 'retriever.hybrid' \(line 12\) weights must add up to 1/);
  refused('{"index":{"name":"a","snapshot":"b"},"embedding_model":"e:1"}', /key 'chunking' \(line 1\) expected required property/, 'rag.json');
});

test('the file must be a YAML mapping', () => {
  refused('index: [', /rag.yaml line 1: /);
  refused('- a\n', /must be a mapping of keys/);
  refused('', /must be a mapping of keys/);
  refused('a: 1\na: 2\n', /line 2/);
});

test('the embedding model is pinned by digest or version number, never floating', () => {
  assert.deepEqual(parseEmbeddingPin(`bge@${DIGEST}`), { name: 'bge', digest: DIGEST });
  assert.deepEqual(parseEmbeddingPin('bge:4'), { name: 'bge', version: 4 });
  refused(RAG.replace(`bge-small@${DIGEST}`, 'bge-small@production'), /embedding_model "bge-small@production" floats/);
  refused(RAG.replace(`bge-small@${DIGEST}`, 'bge-small'), /floats/);
  refused(RAG.replace(`bge-small@${DIGEST}`, '"bad name!"'), /is not a reference/);
});
