import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCliApp, type CliApp } from '../../test-support/cli-app.js';

describe('berth prompt push / render', () => {
  let cli: CliApp;
  let dir = '';

  before(async () => {
    cli = await startCliApp('berth-cli-prompt-');
    ({ dir } = cli);
    const files: Record<string, string> = {
      'prompts/system_prompt.txt': 'You help {{customer_name}} with their {{ product }}.',
      'prompts/few_shot_examples.json': JSON.stringify([{ variables: { customer_name: 'Ana', product: 'router' }, output: 'Restart it.' }]),
      'prompts/bad_examples.json': JSON.stringify([{ inputs: { customer: 'Ana' } }]),
      'prompts/chat.json': JSON.stringify([
        { role: 'system', content: 'You support {{product}}.' },
        { role: 'user', content: '{{question}}' },
      ]),
      'prompts/broken.json': '[{"role": "user"',
      'prompts/big.txt': 'x'.repeat(1024 * 1024 + 1),
    };
    await cli.writeFiles(files);
    await writeFile(join(dir, 'prompts/latin1.txt'), Buffer.from([0x48, 0xe9, 0x21]));
  });
  after(async () => cli.stop());

  const berth = (...argv: string[]) => cli.berth(...argv);
  const ok = (...argv: string[]) => cli.ok(...argv);

  it('pushes a template with examples and typed parameters as a new prompt version', async () => {
    const r = await ok(
      'prompt',
      'push',
      'cs-system',
      '--template',
      'prompts/system_prompt.txt',
      '--examples',
      'prompts/few_shot_examples.json',
      '--param',
      'temperature=0.2',
      '--param',
      'stop=END',
      '-m',
      'first cut',
    );
    assert.match(r.stdout, /^cs-system:1 sha256:[0-9a-f]{64}\n {2}text template, variables: customer_name, product\n$/);
    const v = JSON.parse((await ok('show', 'cs-system:1', '--json')).stdout);
    assert.equal(v.description, 'first cut');
    assert.deepEqual(v.files.map((f: { path: string }) => f.path).sort(), ['examples.json', 'params.json', 'prompt.txt']);
    const models = JSON.parse((await ok('ls', '--json')).stdout);
    assert.equal(models.find((m: { name: string }) => m.name === 'cs-system').kind, 'prompt');
  });

  it('renders by alias as text, and as JSON with its parameters and examples', async () => {
    await ok('alias', 'set', 'cs-system', 'staging', '1');
    const text = await ok('prompt', 'render', 'cs-system@staging', '--var', 'customer_name=Ana', '--var', 'product=router');
    assert.equal(text.stdout, 'You help Ana with their router.\n');
    const json = JSON.parse((await ok('prompt', 'render', 'cs-system:1', '--var', 'customer_name=Bo', '--var', 'product=a=b', '--json')).stdout);
    assert.equal(json.text, 'You help Bo with their a=b.');
    assert.equal(json.version, 1);
    assert.deepEqual(json.params, { temperature: 0.2, stop: 'END' });
    assert.deepEqual(json.examples, [{ variables: { customer_name: 'Ana', product: 'router' }, output: 'Restart it.' }]);
  });

  it('pushes a chat template (a .json template, or --chat) and renders one role: content block per message', async () => {
    const r = JSON.parse((await ok('prompt', 'push', 'cs-system', '--template', 'prompts/chat.json', '--json')).stdout);
    assert.equal(r.version, 2);
    assert.deepEqual(r.metadata.prompt, { format: 'chat', variables: ['product', 'question'] });
    const out = await ok('prompt', 'render', 'cs-system', '--var', 'product=routers', '--var', 'question=Why blink?');
    assert.equal(out.stdout, 'system: You support routers.\n\nuser: Why blink?\n');
  });

  it('exits 2 naming a missing or undeclared variable', async () => {
    const missing = await berth('prompt', 'render', 'cs-system:1', '--var', 'customer_name=Ana');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing prompt variable 'product'/);
    const undeclared = await berth('prompt', 'render', 'cs-system:1', '--var', 'customer_name=Ana', '--var', 'product=x', '--var', 'tone=warm');
    assert.equal(undeclared.code, 2);
    assert.match(undeclared.stderr, /undeclared prompt variable 'tone'/);
    const malformed = await berth('prompt', 'render', 'cs-system:1', '--var', 'customer_name');
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /--var "customer_name" must be name=value/);
  });

  it('refuses bad prompts with exit 2 and registers nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--template', 'prompts/system_prompt.txt', '--examples', 'prompts/bad_examples.json'], /undeclared variable 'customer'/],
      [['--template', 'prompts/broken.json'], /prompt\.json is not JSON/],
      [['--template', 'prompts/system_prompt.txt', '--chat'], /prompt\.json is not JSON/],
      [['--template', 'prompts/big.txt'], /--template file prompts\/big\.txt is 1048577 bytes/],
      [['--template', 'prompts/latin1.txt'], /--template file prompts\/latin1\.txt is not UTF-8 text/],
      [['--template', 'prompts/system_prompt.txt', '--param', 'top_p'], /--param "top_p" must be name=value/],
    ];
    for (const [args, message] of cases) {
      const r = await berth('prompt', 'push', 'cs-system', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const gone = await berth('prompt', 'push', 'cs-system', '--template', 'prompts/nope.txt');
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /cannot read --template file .*nope\.txt: ENOENT/);
    assert.equal(JSON.parse((await ok('ls', 'cs-system', '--json')).stdout).length, 2);
  });

  it('refuses to render a model of another kind, and to push a prompt into one', async () => {
    await writeFile(join(dir, 'w.bin'), 'weights');
    await ok('push', './w.bin', '--model', 'weights');
    const render = await berth('prompt', 'render', 'weights:1');
    assert.equal(render.code, 2);
    assert.match(render.stderr, /weights is a model of kind model, not prompt/);
    const push = await berth('prompt', 'push', 'weights', '--template', 'prompts/system_prompt.txt');
    assert.equal(push.code, 2);
    assert.match(push.stderr, /model weights is of kind model, not prompt/);
  });

  it('explains its usage', async () => {
    const none = await berth('prompt');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give a subcommand: push or render/);
    const noTemplate = await berth('prompt', 'push', 'x');
    assert.equal(noTemplate.code, 2);
    assert.match(noTemplate.stderr, /--template FILE/);
    const wrongFlag = await berth('prompt', 'render', 'x:1', '--template', 'a.txt');
    assert.equal(wrongFlag.code, 2);
    assert.match(wrongFlag.stderr, /--template belongs to `berth prompt push`/);
    assert.match((await ok('prompt', '--help')).stdout, /berth prompt render REF/);
  });
});
