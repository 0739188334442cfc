import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCliApp, type CliApp } from '../../test-support/cli-app.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const RAG_YAML =
  'index: {name: cs-docs, snapshot: s1}\nembedding_model: bge-small:1\nchunking: {size: 512, overlap: 64, strategy: recursive}\nretriever: {top_k: 4}\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('berth push --kind adapter, bundle create, show --tree / --used-by, diff, pull of a bundle', () => {
  let cli: CliApp;
  let dir = '';

  before(async () => {
    cli = await startCliApp('berth-cli-bundle-');
    ({ dir } = cli);
    const files: Record<string, string> = {
      'base/model.safetensors': 'base weights',
      'base/config.json': '{"model_type":"llama"}',
      'cs/adapter_model.safetensors': 'lora weights',
      'cs/adapter_config.json': JSON.stringify({
        base_model_name_or_path: 'meta-llama/Llama-3-8B',
        revision: SHA,
        r: 16,
        lora_alpha: 32,
        target_modules: ['q_proj', 'v_proj'],
        task_type: 'CAUSAL_LM',
      }),
      'other/adapter_model.safetensors': 'other lora',
      'other/adapter_config.json': JSON.stringify({ base_model_name_or_path: 'mistralai/Mistral-7B' }),
      'prompt/prompt.txt': 'You help {{customer_name}}.',
      'prompt2/prompt.txt': 'You kindly help {{customer_name}}.',
      'embed/model.safetensors': 'embedder weights',
      'rag/rag.yaml': RAG_YAML,
    };
    await cli.writeFiles(files);
  });
  after(async () => cli.stop());

  const berth = (...argv: string[]) => cli.berth(...argv);
  const ok = (...argv: string[]) => cli.ok(...argv);

  it('pushes a base at an upstream commit and an adapter pinned to it, refusing an adapter_config.json naming another base', async () => {
    const branch = await berth('push', './base', '--model', 'llama-3-8b', '--kind', 'model', '--upstream', 'hf:meta-llama/Llama-3-8B@main');
    assert.equal(branch.code, 2);
    assert.match(branch.stderr, /"main", which is not a commit/);
    await ok('push', './base', '--model', 'llama-3-8b', '--kind', 'model', '--upstream', `hf:meta-llama/Llama-3-8B@${SHA}`);
    const other = await berth('push', './other', '--model', 'other-adapter', '--kind', 'adapter', '--base', 'llama-3-8b:1');
    assert.equal(other.code, 2);
    assert.match(other.stderr, /adapter_config.json names base "mistralai\/Mistral-7B", but --base llama-3-8b:1 is meta-llama\/Llama-3-8B@0123/);
    const floating = await berth('push', './cs', '--model', 'cs-adapter', '--kind', 'adapter', '--base', 'llama-3-8b');
    assert.equal(floating.code, 2);
    assert.match(floating.stderr, /--base "llama-3-8b" floats/);
    const noBase = await berth('push', './cs', '--model', 'cs-adapter', '--kind', 'adapter');
    assert.equal(noBase.code, 2);
    assert.match(noBase.stderr, /--kind adapter needs --base/);
    const pushed = JSON.parse((await ok('push', './cs', '--model', 'cs-adapter', '--kind', 'adapter', '--base', 'llama-3-8b:1', '--json')).stdout);
    const v = JSON.parse((await ok('show', `cs-adapter:${pushed.version}`, '--json')).stdout);
    assert.deepEqual(v.metadata.peft, { r: 16, lora_alpha: 32, target_modules: ['q_proj', 'v_proj'], task_type: 'CAUSAL_LM' });
    assert.deepEqual(
      v.dependencies.map((d: { model: string; version: number }) => `${d.model}:${d.version}`),
      ['llama-3-8b:1'],
    );
    const models = await ok('ls', '--json');
    assert.ok(!JSON.parse(models.stdout).some((m: { name: string }) => m.name === 'other-adapter'));
  });

  it('creates bundles, shows the tree and what uses a version, diffs two bundles, and pulls one laid out for serving', async () => {
    await ok('push', './prompt', '--model', 'cs-system', '--kind', 'prompt');
    await ok('push', './prompt2', '--model', 'cs-system');
    await ok('push', './embed', '--model', 'bge-small', '--kind', 'model');
    await ok('push', './rag/rag.yaml', '--model', 'cs-rag', '--kind', 'rag-config');
    const alias = await berth('bundle', 'create', 'cs-bot', '--base', 'llama-3-8b:1', '--prompt', 'cs-system@production');
    assert.equal(alias.code, 2);
    assert.match(alias.stderr, /prompt "cs-system@production" floats/);
    const first = await ok(
      'bundle',
      'create',
      'cs-bot',
      '--base',
      'llama-3-8b:1',
      '--adapter',
      'cs-adapter:1',
      '--prompt',
      'cs-system:1',
      '--rag',
      'cs-rag:1',
      '--params',
      'temperature=0.2',
    );
    assert.match(first.stdout, /^cs-bot:1 sha256:/);
    const second = JSON.parse((await ok('bundle', 'create', 'cs-bot', '--from', 'cs-bot:1', '--prompt', 'cs-system:2', '--json')).stdout);
    assert.equal(second.version, 2);
    await ok('alias', 'set', 'cs-bot', 'champion', '2');

    const tree = await ok('show', 'cs-bot@champion', '--tree');
    const lines = tree.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^cs-bot:2 \(bundle\) sha256:/);
    assert.ok(lines.some((l) => /^ {2}cs-adapter:1 \(adapter\)/.test(l)));
    assert.ok(
      lines.some((l) => /^ {4}llama-3-8b:1 \(model\)/.test(l)),
      'the adapter shows its own base below it',
    );
    assert.ok(lines.some((l) => /^ {2}cs-system:2 \(prompt\)/.test(l)));
    const usedBy = JSON.parse((await ok('show', 'llama-3-8b:1', '--used-by', '--json')).stdout);
    assert.deepEqual(
      usedBy.used_by.map((e: { model: string; version: number }) => `${e.model}:${e.version}`),
      ['cs-adapter:1', 'cs-bot:1', 'cs-bot:2'],
    );
    const rm = await berth('rm', 'cs-system:2');
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /cs-bot:2 pin it/);

    const diff = await ok('diff', 'cs-bot:1', 'cs-bot:2');
    assert.match(diff.stdout, /^same +base: llama-3-8b:1/m);
    assert.match(diff.stdout, /^changed +prompt: cs-system:1 sha256:\S+ -> cs-system:2 sha256:/m);
    assert.match(diff.stdout, new RegExp(`^ +changed +prompt.txt ${sha('You help {{customer_name}}.')} -> ${sha('You kindly help {{customer_name}}.')}`, 'm'));
    const plain = JSON.parse((await ok('diff', 'cs-system:1', 'cs-system:2', '--json')).stdout);
    assert.deepEqual(plain.files, [
      { path: 'prompt.txt', change: 'changed', from: sha('You help {{customer_name}}.'), to: sha('You kindly help {{customer_name}}.') },
    ]);

    const out = join(dir, 'deploy');
    await ok('pull', 'cs-bot@champion', '-o', out);
    assert.equal(await readFile(join(out, 'base/model.safetensors'), 'utf8'), 'base weights');
    assert.match(await readFile(join(out, 'adapters/cs-adapter/adapter_config.json'), 'utf8'), /"r":16/);
    assert.equal(await readFile(join(out, 'prompt/prompt.txt'), 'utf8'), 'You kindly help {{customer_name}}.');
    assert.equal(await readFile(join(out, 'rag/rag.yaml'), 'utf8'), RAG_YAML);
    const manifest = JSON.parse(await readFile(join(out, 'berth-bundle.json'), 'utf8'));
    assert.equal(manifest.prompt.version, 2);
    assert.equal(manifest.base.files.find((f: { path: string }) => f.path === 'model.safetensors').sha256, sha('base weights'));
  });
});
