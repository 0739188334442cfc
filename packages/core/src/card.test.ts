import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffCards, generateCard, parseCard, type CardSource } from './card.js';

const SRC: CardSource = {
  model: 'chatbot',
  version: 2,
  kind: 'model',
  digest: `sha256:${'b'.repeat(64)}`,
  description: 'Support chatbot.',
  metadata: { license: 'apache-2.0', base_model: 'meta-llama/Llama-3-8B', library_name: 'peft', pipeline_tag: 'text-generation', tags: ['support', 3] },
  tags: { team: 'cs', 'mlflow.source': 'x' },
  evaluations: [{ metrics: { accuracy: 0.91, safety: 0.97 }, dataset: 'cs-eval', source: 'ci', measured_at: '2026-11-01T00:00:00.000Z' }],
};
const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));

test('a generated card carries the Hub front matter and a model-index of the recorded evaluations', () => {
  const card = parseCard(generateCard(SRC));
  assert.equal(card.frontMatter.license, 'apache-2.0');
  assert.equal(card.frontMatter.base_model, 'meta-llama/Llama-3-8B');
  assert.equal(card.frontMatter.library_name, 'peft');
  assert.equal(card.frontMatter.pipeline_tag, 'text-generation');
  assert.deepEqual(card.frontMatter.tags, ['model', 'team', 'support']);
  assert.deepEqual(card.frontMatter['model-index'], [
    {
      name: 'chatbot',
      results: [
        {
          task: { type: 'text-generation' },
          dataset: { name: 'cs-eval', type: 'cs-eval' },
          metrics: [
            { type: 'accuracy', value: 0.91, name: 'accuracy' },
            { type: 'safety', value: 0.97, name: 'safety' },
          ],
          source: { name: 'ci', url: 'berth:chatbot:2' },
        },
      ],
    },
  ]);
  assert.match(card.body, /^\n# chatbot:2\n\nSupport chatbot\./);
  assert.match(card.body, /\| cs-eval \| accuracy \| 0.91 \| 2026-11-01T00:00:00.000Z \|/);
});

test('a version without metadata or evaluations still has a card', () => {
  const bare = generateCard({ ...SRC, description: '', metadata: {}, tags: {}, evaluations: [] });
  const card = parseCard(bare);
  assert.deepEqual(card.frontMatter, { tags: ['model'] });
  assert.match(card.body, /A model version registered in Berth/);
  assert.doesNotMatch(bare, /Evaluation/);
  const noDataset = parseCard(
    generateCard({ ...SRC, metadata: {}, evaluations: [{ ...(SRC.evaluations[0] as CardSource['evaluations'][0]), dataset: null, source: null }] }),
  );
  assert.deepEqual((noDataset.frontMatter['model-index'] as { results: unknown[] }[])[0]?.results[0], {
    task: { type: 'model' },
    metrics: [
      { type: 'accuracy', value: 0.91, name: 'accuracy' },
      { type: 'safety', value: 0.97, name: 'safety' },
    ],
    source: { name: 'berth', url: 'berth:chatbot:2' },
  });
});

test('parseCard splits front matter from the body and refuses what is not a mapping', () => {
  assert.deepEqual(parseCard('# just markdown\n'), { frontMatter: {}, body: '# just markdown\n' });
  assert.deepEqual(parseCard('---\nlicense: mit\n---\nbody'), { frontMatter: { license: 'mit' }, body: 'body' });
  assert.deepEqual(parseCard('---\n---\n'), { frontMatter: {}, body: '' });
  refused(() => parseCard('---\nlicense: [mit\n---\n'), /card front matter line \d+/);
  refused(() => parseCard('---\n- a\n---\n'), /must be a YAML mapping/);
  refused(() => parseCard('x'.repeat(256 * 1024 + 1)), /over 256 KiB/);
});

test('diffCards is a unified line diff, empty for equal cards', () => {
  assert.equal(diffCards('a\nb\n', 'a\nb\n', 'x', 'y'), '');
  assert.equal(diffCards('a\nb\nc', 'a\nB\nc', 'chatbot:2', 'chatbot:3'), '--- chatbot:2\n+++ chatbot:3\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n');
  assert.equal(diffCards('', 'new', 'x', 'y'), '--- x\n+++ y\n@@ -1,1 +1,1 @@\n-\n+new\n');
  const long = Array.from({ length: 20 }, (_, i) => `l${i}`);
  const changed = [...long];
  changed[1] = 'first';
  changed[18] = 'last';
  const d = diffCards(long.join('\n'), changed.join('\n'), 'x', 'y');
  assert.equal(d.split('\n').filter((l) => l.startsWith('@@')).length, 2);
  assert.match(d, /@@ -1,5 \+1,5 @@\n l0\n-l1\n\+first\n l2/);
  assert.equal(diffCards('a', 'a\nb', 'x', 'y'), '--- x\n+++ y\n@@ -1,1 +1,2 @@\n a\n+b\n');
  assert.equal(diffCards('a\nb', 'b', 'x', 'y'), '--- x\n+++ y\n@@ -1,2 +1,1 @@\n-a\n b\n');
});
