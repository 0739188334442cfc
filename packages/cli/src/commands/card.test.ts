import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCliApp, type CliApp } from '../../test-support/cli-app.js';

const EDITED = '---\nlicense: apache-2.0\n---\n\n# chatbot, edited\n';

describe('berth card, and berth push of a single RAG configuration file', () => {
  let cli: CliApp;

  before(async () => {
    cli = await startCliApp('berth-cli-card-');
    const files: Record<string, string> = {
      'v1/model.safetensors': 'weights 1',
      'v2/model.safetensors': 'weights 2',
      'v2/README.md': '---\nlicense: mit\n---\n\n# chatbot from its README\n',
      'edited.md': EDITED,
      'broken.md': '---\nlicense: mit\ntags: [a\n---\n',
      'embed/model.safetensors': 'embedder',
      'rag.yaml': 'index: {name: docs, snapshot: s1}\nembedding_model: bge:1\nchunking: {size: 100, overlap: 10, strategy: fixed}\nretriever: {top_k: 3}\n',
      'bad/rag.yaml': 'index: {name: docs, snapshot: s1}\nchunking: {size: 100, overlap: 10, strategy: fixed}\nretriever: {top_k: 3}\n',
    };
    await cli.writeFiles(files);
  });
  after(async () => cli.stop());

  const berth = (...argv: string[]) => cli.berth(...argv);
  const ok = (...argv: string[]) => cli.ok(...argv);

  it('pushes rag.yaml alone as a rag-config version pinning its embedding model, and refuses one without it', async () => {
    await ok('push', './embed', '--model', 'bge', '--kind', 'model');
    const pushed = JSON.parse((await ok('push', 'rag.yaml', '--model', 'cs-rag', '--kind', 'rag-config', '--json')).stdout);
    const v = JSON.parse((await ok('show', `cs-rag:${pushed.version}`, '--json')).stdout);
    assert.equal(v.metadata.rag.embedding_model, `bge:1@${v.dependencies[0].digest}`);
    const bad = await berth('push', './bad/rag.yaml', '--model', 'cs-rag');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /missing key 'embedding_model'/);
  });

  it('shows the generated card, then the README.md, edits one from a file and diffs two cards', async () => {
    await ok('push', './v1', '--model', 'chatbot', '--metadata', 'license=apache-2.0', '--description', 'A support bot.');
    await ok('push', './v2', '--model', 'chatbot');
    await ok('eval', 'record', 'chatbot:1', '--metric', 'accuracy=0.9', '--dataset', 'support-v3');
    const generated = await ok('card', 'chatbot:1');
    assert.match(generated.stdout, /^---\nlicense: apache-2.0\n/);
    assert.match(generated.stdout, /model-index:/);
    assert.match(generated.stdout, /A support bot\./);
    const readme = JSON.parse((await ok('card', 'chatbot', '--json')).stdout);
    assert.equal(readme.source, 'file');
    assert.deepEqual(readme.metadata, { license: 'mit' });

    const broken = await berth('card', 'chatbot:2', '--edit', 'broken.md');
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /broken\.md: card front matter line \d+/);
    const edited = await ok('card', 'chatbot:2', '--edit', 'edited.md');
    assert.equal(edited.stdout.trim(), 'chatbot:2 card updated');
    assert.equal((await ok('card', 'chatbot:2')).stdout, `${EDITED.trimEnd()}\n`);

    const diff = await ok('card', 'chatbot:1', '--diff', 'chatbot:2');
    assert.match(diff.stdout, /^--- chatbot:1 \(generated\)\n\+\+\+ chatbot:2 \(edited\)\n@@ /);
    assert.match(diff.stdout, /^\+# chatbot, edited$/m);
    const same = await ok('card', 'chatbot:2', '--diff', 'chatbot:2');
    assert.match(same.stdout, /are the same/);
    const json = JSON.parse((await ok('card', 'chatbot:1', '--diff', 'chatbot:2', '--json')).stdout);
    assert.equal(json.to.source, 'edited');
    assert.match(json.diff, /^-model-index:$/m);

    const missing = await berth('card', 'chatbot:9');
    assert.equal(missing.code, 3);
    const usage = await berth('card', 'chatbot:1', '--edit', 'edited.md', '--diff', 'chatbot:2');
    assert.equal(usage.code, 2);
  });
});
