import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAssignment, parseChatTemplate, parsePromptExamples, parsePromptParams, promptVariables, renderPrompt, type PromptTemplate } from './prompt.js';

const text = (t: string): PromptTemplate => ({ format: 'text', text: t });
const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));

test("variables are read as MLflow's prompt registry writes them: optional spaces, dotted names, each once", () => {
  assert.deepEqual(promptVariables(text('Hi {{customer_name}}, about {{ product }} and {{customer_name}}; {{ a.b }} {{1bad}} {single}')), [
    'customer_name',
    'product',
    'a.b',
  ]);
  const chat = parseChatTemplate(
    JSON.stringify([
      { role: 'system', content: 'You help with {{product}}' },
      { role: 'user', content: '{{question}}' },
    ]),
  );
  assert.deepEqual(promptVariables(chat), ['product', 'question']);
});

test('render fills every variable, in text and chat templates', () => {
  assert.deepEqual(renderPrompt(text('Hi {{ name }}, {{name}}!'), { name: 'Ana' }), { format: 'text', text: 'Hi Ana, Ana!' });
  const chat = parseChatTemplate('[{"role":"user","content":"About {{product}}"}]');
  assert.deepEqual(renderPrompt(chat, { product: 'router' }), { format: 'chat', messages: [{ role: 'user', content: 'About router' }] });
  assert.deepEqual(renderPrompt(text('no variables'), {}), { format: 'text', text: 'no variables' });
});

test('render refuses a missing variable and an undeclared one, naming it', () => {
  refused(() => renderPrompt(text('Hi {{customer_name}} {{product}}'), { customer_name: 'Ana' }), /missing prompt variable 'product'/);
  refused(
    () => renderPrompt(text('Hi {{customer_name}}'), { customer_name: 'Ana', custmer: 'x' }),
    /undeclared prompt variable 'custmer'.*declares customer_name/,
  );
  refused(() => renderPrompt(text('constant'), { x: '1' }), /undeclared prompt variable 'x': the template declares none/);
});

test('a chat template is a non-empty JSON list of {role, content}', () => {
  refused(() => parseChatTemplate('nope'), /prompt.json is not JSON/);
  refused(() => parseChatTemplate('[]'), /non-empty list/);
  refused(() => parseChatTemplate('{"role":"user"}'), /non-empty list/);
  refused(() => parseChatTemplate('[{"role":"user","content":1}]'), /message 0 must be/);
  refused(() => parseChatTemplate('[null]'), /message 0 must be/);
  refused(() => parseChatTemplate('[{"role":"user","content":"x","extra":1}]'), /message 0 must be/);
});

test('few-shot examples are a list of objects using only declared variables', () => {
  assert.deepEqual(parsePromptExamples('[{"variables":{"product":"router"},"output":"ok"},{"input":"x"},{"inputs":null}]', ['product']), [
    { variables: { product: 'router' }, output: 'ok' },
    { input: 'x' },
    { inputs: null },
  ]);
  refused(() => parsePromptExamples('[{"inputs":{"colour":"red"}}]', ['product']), /example 0 uses undeclared variable 'colour'.*declares product/);
  refused(() => parsePromptExamples('[{"inputs":{"colour":"red"}}]', []), /declares none/);
  refused(() => parsePromptExamples('{', []), /examples.json is not JSON/);
  refused(() => parsePromptExamples('{}', []), /must be a JSON list/);
  refused(() => parsePromptExamples('[1]', []), /example 0 must be a JSON object/);
  refused(() => parsePromptExamples('[null]', []), /example 0 must be a JSON object/);
  refused(() => parsePromptExamples('[[]]', []), /example 0 must be a JSON object/);
});

test('model parameters are one JSON object of scalars', () => {
  assert.deepEqual(parsePromptParams('{"temperature":0.2,"model":"x","stream":false,"stop":null}'), {
    temperature: 0.2,
    model: 'x',
    stream: false,
    stop: null,
  });
  refused(() => parsePromptParams('x'), /params.json is not JSON/);
  refused(() => parsePromptParams('[1]'), /must be a JSON object/);
  refused(() => parsePromptParams('null'), /must be a JSON object/);
  refused(() => parsePromptParams('{"stop":["a"]}'), /parameter 'stop' must be a number/);
});

test('name=value assignments keep JSON scalars typed for parameters only', () => {
  assert.deepEqual(parseAssignment('temperature=0.2', '--param', true), ['temperature', 0.2]);
  assert.deepEqual(parseAssignment('stream=true', '--param', true), ['stream', true]);
  assert.deepEqual(parseAssignment('model=gpt-4o', '--param', true), ['model', 'gpt-4o']);
  assert.deepEqual(parseAssignment('stop=["a"]', '--param', true), ['stop', '["a"]']);
  assert.deepEqual(parseAssignment('name=a=b', '--var', false), ['name', 'a=b']);
  refused(() => parseAssignment('=x', '--var', false), /--var "=x" must be name=value/);
  refused(() => parseAssignment('novalue', '--var', false), /must be name=value/);
});
