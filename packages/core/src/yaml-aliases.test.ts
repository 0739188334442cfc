import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCard } from './card.js';
import { parseRagConfig } from './rag-config.js';
import { noAliases } from './yaml-aliases.js';

describe('YAML aliases in cards and RAG configs', () => {
  it('refuses a card whose front matter repeats a node by alias with a 400 saying to write it out', () => {
    const text = '---\nmodel-index:\n  - results:\n      - task: &a1\n          type: model\n      - task: *a1\n---\n# card\n';
    assert.throws(
      () => parseCard(text),
      (err: Error & { code?: string }) => err.code === 'INVALID_ARGUMENT' && /card front matter repeats a node with a YAML alias/.test(err.message),
    );
  });

  it('refuses a RAG config that uses an alias, naming the file', () => {
    assert.throws(
      () => parseRagConfig('retriever: &r {top_k: 4}\nreranker: *r\n', 'rag.yaml'),
      (err: Error & { code?: string }) => err.code === 'INVALID_ARGUMENT' && /^rag.yaml repeats a node with a YAML alias/.test(err.message),
    );
  });

  it('lets an error that is not about aliases through unchanged', () => {
    const boom = new RangeError('out of range');
    assert.throws(
      () =>
        noAliases(
          () => {
            throw boom;
          },
          'x',
          'x',
        ),
      (err) => err === boom,
    );
  });
});
