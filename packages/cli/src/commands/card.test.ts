import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock } from '@berth/server';
import { main } from '../main.js';
import type { Io } from '../io.js';

const EDITED = '---\nlicense: apache-2.0\n---\n\n# chatbot, edited\n';

describe('berth card, and berth push of a single RAG configuration file', () => {
  let url = '';
  let dir = '';
  let stop: () => Promise<void>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-card-'));
    const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
    const blobs = await FsBlobStore.open(join(dir, 'blobs'));
    const app = await buildApp({ registry: new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    stop = async () => {
      await app.close();
      await blobs.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    };
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
    for (const [p, c] of Object.entries(files)) {
      await mkdir(join(dir, p, '..'), { recursive: true });
      await writeFile(join(dir, p), c);
    }
  });
  after(async () => stop());

  async function berth(...argv: string[]) {
    const out: string[] = [];
    const errs: string[] = [];
    const io: Io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => errs.push(s) },
      env: { USER: 'ana', BERTH_URL: url },
      cwd: dir,
    };
    const code = await main(argv, io);
    return { code, stdout: out.join(''), stderr: errs.join('') };
  }
  async function ok(...argv: string[]) {
    const r = await berth(...argv);
    assert.equal(r.code, 0, r.stderr);
    return r;
  }

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
