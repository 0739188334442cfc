import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { BUNDLE_FORMAT, bundleManifestBytes, checkAdapterConfig, parsePin, parseUpstream, type BundleManifest } from './bundles.js';

const D = `sha256:${'a'.repeat(64)}`;
const SHA = '0123456789abcdef0123456789abcdef01234567';
const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));

describe('parsePin', () => {
  it('accepts a version number or a digest', () => {
    assert.deepEqual(parsePin('llama-3-8b:1'), { name: 'llama-3-8b', selector: { kind: 'version', version: 1 } });
    assert.deepEqual(parsePin(`llama-3-8b@${D}`), { name: 'llama-3-8b', selector: { kind: 'digest', digest: D } });
  });
  it('refuses an alias or a bare name, naming the role and why it floats', () => {
    refused(() => parsePin('cs-system@production', 'prompt'), /^prompt "cs-system@production" floats \(@production is an alias\)/);
    refused(() => parsePin('llama-3-8b', 'base'), /^base "llama-3-8b" floats \(a bare name means the latest version\)/);
    refused(() => parsePin('llama-3-8b:latest'), /^pin .* floats/);
  });
});

describe('parseUpstream', () => {
  it('parses a Hub repo at a commit', () => {
    assert.deepEqual(parseUpstream(`hf:meta-llama/Llama-3-8B@${SHA}`), { repo: 'meta-llama/Llama-3-8B', revision: SHA });
  });
  it('refuses a branch or tag, and anything not hf:org/name@rev', () => {
    refused(() => parseUpstream('hf:meta-llama/Llama-3-8B@main'), /"main", which is not a commit/);
    refused(() => parseUpstream(`hf:meta-llama/Llama-3-8B@${SHA.toUpperCase()}`), /not a commit/);
    refused(() => parseUpstream(`hf:Llama-3-8B@${SHA}`), /use hf:<org>\/<name>@<40-hex commit>/);
    refused(() => parseUpstream(42), /invalid upstream 42/);
  });
});

describe('checkAdapterConfig', () => {
  const upstream = { repo: 'meta-llama/Llama-3-8B', revision: SHA };
  const withUpstream = { ref: 'llama-3-8b:1', model: 'llama-3-8b', upstream };
  const plain = { ref: 'llama-3-8b:1', model: 'llama-3-8b' };

  it('records rank, alpha, target modules and task type', () => {
    const facts = checkAdapterConfig(
      {
        base_model_name_or_path: 'meta-llama/Llama-3-8B',
        revision: SHA,
        r: 16,
        lora_alpha: 32,
        target_modules: ['q_proj', 'v_proj'],
        task_type: 'CAUSAL_LM',
        peft_type: 'LORA',
      },
      withUpstream,
    );
    assert.deepEqual(facts, { r: 16, lora_alpha: 32, target_modules: ['q_proj', 'v_proj'], task_type: 'CAUSAL_LM', peft_type: 'LORA' });
    assert.deepEqual(checkAdapterConfig({ target_modules: 'all-linear', target_modules_bad: 1 }, plain), { target_modules: 'all-linear' });
    assert.deepEqual(checkAdapterConfig({ target_modules: [1], r: 'x', base_model_name_or_path: '', revision: '' }, plain), {});
  });
  it('compares against the base model name when the base records no upstream', () => {
    assert.deepEqual(checkAdapterConfig({ base_model_name_or_path: 'llama-3-8b' }, plain), {});
    assert.deepEqual(checkAdapterConfig({ base_model_name_or_path: '/models/llama-3-8b/' }, plain), {});
    refused(() => checkAdapterConfig({ base_model_name_or_path: 'mistral-7b' }, plain), /names base "mistral-7b", but --base llama-3-8b:1 is llama-3-8b/);
    refused(() => checkAdapterConfig({ revision: SHA }, plain), /pins base revision .* records no upstream commit/);
  });
  it('refuses a config naming another base repo or revision than the upstream', () => {
    refused(
      () => checkAdapterConfig({ base_model_name_or_path: 'mistralai/Mistral-7B' }, withUpstream),
      /names base "mistralai\/Mistral-7B", but --base llama-3-8b:1 is meta-llama\/Llama-3-8B@0123/,
    );
    refused(() => checkAdapterConfig({ revision: 'f'.repeat(40) }, withUpstream), /but --base llama-3-8b:1 is at 0123/);
  });
  it('refuses a config that is not an object', () => {
    refused(() => checkAdapterConfig([], plain), /must hold a JSON object/);
    refused(() => checkAdapterConfig(null, plain), /must hold a JSON object/);
  });
});

describe('bundleManifestBytes', () => {
  it('is canonical JSON with a trailing newline, whatever the key order', () => {
    const c = { model: 'm', version: 1, digest: D, files: [] };
    const a: BundleManifest = { format: BUNDLE_FORMAT, base: c, adapters: [], prompt: null, rag: null, params: { b: 1, a: 2 } };
    const text = new TextDecoder().decode(bundleManifestBytes(a));
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.indexOf('"a":2') < text.indexOf('"b":1'));
    assert.deepEqual(JSON.parse(text), a);
  });
});
