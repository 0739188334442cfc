import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUNDLE_FORMAT, BUNDLE_MANIFEST_PATH } from '@berth/core';
import { call, sha256, startWorld, upstream, waitFor, type World } from '../test-support/world.js';

const PROMPT = JSON.stringify([
  { role: 'system', content: 'You answer about {{ topic }}.' },
  { role: 'user', content: 'Question: {{ question }}' },
]);
const EXAMPLES = JSON.stringify([
  { input: '2+2?', output: '4' },
  { variables: { topic: 'math', question: '3+3?' }, output: '6' },
]);
const PARAMS = JSON.stringify({ temperature: 0.1, max_tokens: 50 });

function entry(path: string, text: string) {
  return { path, size: Buffer.byteLength(text), sha256: sha256(text) };
}

function manifest(promptVersion: number, files: Record<string, string>): string {
  const component = (model: string, version: number, f: Array<{ path: string; size: number; sha256: string }>) => ({
    model,
    version,
    digest: `sha256:${'a'.repeat(64)}`,
    files: f,
  });
  return JSON.stringify({
    format: BUNDLE_FORMAT,
    base: component('llama', 1, []),
    adapters: [component('cs-lora', 3, [])],
    prompt: component(
      'cs-prompt',
      promptVersion,
      Object.entries(files).map(([p, t]) => entry(p, t)),
    ),
    rag: null,
    params: { max_tokens: 64 },
  });
}

let w: World;
before(async () => {
  w = await startWorld({}, [], (r) => {
    const files = { 'prompt.json': PROMPT, 'examples.json': EXAMPLES, 'params.json': PARAMS };
    r.addVersion('cs-prompt', 1, files);
    r.addVersion('cs-bot', 3, { [BUNDLE_MANIFEST_PATH]: manifest(1, files) }, { kind: 'bundle' });
    // prompt 2's template as served differs from the bytes its manifest entry names
    r.addVersion('cs-prompt', 2, { 'prompt.txt': 'Be brief about {{ topic }}.' }, { serve: { 'prompt.txt': 'Be evil.' } });
    r.addVersion('cs-bot', 4, { [BUNDLE_MANIFEST_PATH]: manifest(2, { 'prompt.txt': 'Be brief about {{ topic }}.' }) }, { kind: 'bundle' });
    r.addVersion('cs-prompt', 5, { 'prompt.txt': 'Be brief about {{ topic }}.' });
    r.addVersion('cs-bot', 5, { [BUNDLE_MANIFEST_PATH]: manifest(5, { 'prompt.txt': 'Be brief about {{ topic }}.' }) }, { kind: 'bundle' });
    r.setAlias('cs-bot', 'bundled', 3);
    r.setAlias('cs-bot', 'tampered', 4);
    r.setAlias('cs-bot', 'texty', 5);
  });
  const url = w.ups[0]?.url as string;
  w.registry.apply({ deployment: 'bundled', model: 'cs-bot', stable: 'bundled', upstreams: [upstream(url)] });
  w.registry.apply({
    deployment: 'templated',
    model: 'cs-bot',
    stable: 'texty',
    upstreams: [upstream(url, { adapter: '{base}+{adapter}@{model}:{version}' })],
  });
  w.registry.apply({ deployment: 'tampered', model: 'cs-bot', stable: 'tampered', upstreams: [upstream(url)] });
  await waitFor('three deployments', () => w.gw.view.all().length === 4);
});
after(() => w.close());

describe('gateway bundle rendering', () => {
  it('renders the pinned prompt, examples and parameters and names the adapter when the version is a bundle', async () => {
    const a = await call(w.gw, '/v1/chat/completions', {
      model: 'bundled',
      messages: [{ role: 'user', content: 'hello' }],
      variables: { topic: 'math', question: 'why?' },
      temperature: 0.9,
      top_p: 0.5,
    });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('x-berth-version'), 'cs-bot:3');
    const sent = w.ups[0]?.requests.at(-1)?.body;
    assert.deepEqual(sent, {
      model: 'cs-lora',
      messages: [
        { role: 'system', content: 'You answer about math.' },
        { role: 'user', content: 'Question: why?' },
        { role: 'user', content: '2+2?' },
        { role: 'assistant', content: '4' },
        { role: 'user', content: 'Question: 3+3?' },
        { role: 'assistant', content: '6' },
        { role: 'user', content: 'hello' },
      ],
      temperature: 0.1,
      max_tokens: 64,
      top_p: 0.5,
    });
  });

  it('renders a text template as one system message and fills the adapter template when the upstream has one', async () => {
    const a = await call(w.gw, '/v1/chat/completions', { model: 'templated', messages: [{ role: 'user', content: 'hi' }], variables: { topic: 'tea' } });
    assert.equal(a.status, 200, a.text);
    const sent = w.ups[0]?.requests.at(-1)?.body;
    assert.equal(sent.model, 'llama+cs-lora@cs-bot:5');
    assert.deepEqual(sent.messages, [
      { role: 'system', content: 'Be brief about tea.' },
      { role: 'user', content: 'hi' },
    ]);
    const c = await call(w.gw, '/v1/completions', { model: 'templated', prompt: 'Tell me.', variables: { topic: 'tea' } });
    assert.equal(c.status, 200, c.text);
    assert.equal(w.ups[0]?.requests.at(-1)?.body.prompt, 'Be brief about tea.\n\nTell me.');
  });

  it('answers 400 naming the variable when one is missing or undeclared', async () => {
    const before = w.ups[0]?.count;
    const missing = await call(w.gw, '/v1/chat/completions', { model: 'bundled', messages: [], variables: { topic: 'math' } });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.type, 'invalid_request_error');
    assert.match(missing.json.error.message, /missing prompt variable 'question'/);
    const extra = await call(w.gw, '/v1/chat/completions', { model: 'bundled', messages: [], variables: { topic: 'a', question: 'b', mood: 'c' } });
    assert.equal(extra.status, 400);
    assert.match(extra.json.error.message, /undeclared prompt variable 'mood'/);
    const notStrings = await call(w.gw, '/v1/chat/completions', { model: 'bundled', messages: [], variables: { topic: 1, question: 'b' } });
    assert.equal(notStrings.status, 400);
    assert.equal(w.ups[0]?.count, before, 'nothing reached the upstream');
  });

  it('refuses a bundle whose prompt file does not match its manifest sha256', async () => {
    const a = await call(w.gw, '/v1/chat/completions', { model: 'tampered', messages: [], variables: { topic: 'x' } });
    assert.equal(a.status, 503);
    assert.match(a.json.error.message, /cs-prompt:2 prompt\.txt has sha256 [0-9a-f]{64}, not [0-9a-f]{64} as its manifest says/);
  });
});
