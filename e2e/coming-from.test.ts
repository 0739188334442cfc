/**
 * Runs docs/coming-from.md, so the page cannot drift from what Berth does.
 *
 * Convention (also stated at the top of the page):
 * - a block fenced ```sh e2e holds Berth commands, one per line (`\` continues a line, `#`
 *   starts a comment); each is run as the real `berth` binary with exactly those words, in page
 *   order, in one working folder, against a real server on loopback, and must exit 0;
 * - a block fenced with `file=PATH` (any language) is written to PATH, relative to that folder,
 *   when the run reaches it (a later block may overwrite a file: that is how a prompt changes);
 * - every other block is another tool's code and is not run.
 * Binary sample files the page cannot show (weights, PEFT configs) are made below.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ROOT, berth, startBerth, tempDir, type CliResult, type ServerHandle } from './support.js';

const PAGE = join(ROOT, 'docs/coming-from.md');

type Step = { kind: 'run'; line: string; argv: string[] } | { kind: 'file'; path: string; text: string };

/** The page's steps in order: commands of ```sh e2e blocks and files of ```… file=PATH blocks. */
function pageSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  for (const m of markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```\s*$/gm)) {
    const info = (m[1] ?? '').trim().split(/\s+/);
    const body = m[2] ?? '';
    const file = info.find((w) => w.startsWith('file='));
    if (file) steps.push({ kind: 'file', path: file.slice('file='.length), text: body });
    if (info[0] !== 'sh' || !info.includes('e2e')) continue;
    for (const line of body.replace(/\\\n\s*/g, ' ').split('\n')) {
      const text = line.replace(/(^|\s)#.*$/, '').trim();
      if (!text) continue;
      const argv = words(text);
      assert.equal(argv[0], 'berth', `an e2e block runs berth commands only: ${text}`);
      steps.push({ kind: 'run', line: argv.join(' '), argv: argv.slice(1) });
    }
  }
  return steps;
}

/** Shell words with '…' and "…" quoting; the page uses nothing else (no variables, no globs). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|([^\s"']+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** A safetensors file with one F16 tensor of `n` zeros. */
function safetensors(n: number): Buffer {
  const header = Buffer.from(JSON.stringify({ weight: { dtype: 'F16', shape: [n], data_offsets: [0, n * 2] } }));
  const out = Buffer.alloc(8 + header.length + n * 2);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  return out;
}

const UPSTREAM_COMMIT = '8cde5ca8380496c9a6cc7ef3a8b46a0372a1d920';

async function put(dir: string, path: string, data: string | Buffer) {
  await mkdir(dirname(join(dir, path)), { recursive: true });
  await writeFile(join(dir, path), data);
}

/** The files the page's commands read that it does not show: a base model, a checkpoint, an adapter, an embedding model. */
async function sampleFiles(dir: string) {
  const peft = (r: number) =>
    JSON.stringify({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'meta-llama/Llama-3-8B',
      revision: UPSTREAM_COMMIT,
      r,
      lora_alpha: 2 * r,
      target_modules: ['q_proj', 'v_proj', 'k_proj', 'o_proj'],
    });
  await put(dir, 'base/config.json', JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 64 }));
  await put(dir, 'base/model.safetensors', safetensors(4096));
  await put(dir, 'base/tokenizer.json', JSON.stringify({ version: '1.0', model: { type: 'BPE' } }));
  await put(dir, 'checkpoints/best/adapter_config.json', peft(16));
  await put(dir, 'checkpoints/best/adapter_model.safetensors', safetensors(512));
  await put(dir, 'adapters/cs/adapter_config.json', peft(8));
  await put(dir, 'adapters/cs/adapter_model.safetensors', safetensors(256));
  await put(dir, 'bge-small/config.json', JSON.stringify({ architectures: ['BertModel'], hidden_size: 384 }));
  await put(dir, 'bge-small/model.safetensors', safetensors(384));
}

describe('docs/coming-from.md, run as written', () => {
  let server: ServerHandle;
  let dir: string;
  let cleanup: () => Promise<void>;
  let steps: Step[];
  const results = new Map<string, CliResult>();

  before(async () => {
    ({ dir, cleanup } = await tempDir('berth-coming-from-'));
    server = await startBerth(join(dir, '.data'));
    steps = pageSteps(await readFile(PAGE, 'utf8'));
    await sampleFiles(dir);
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('shows at least twenty commands', () => {
    const lines = new Set(steps.flatMap((s) => (s.kind === 'run' ? [s.line] : [])));
    assert.ok(lines.size >= 20, `the page shows ${lines.size} commands`);
  });

  it('runs every command of the page in order, each exiting 0', async () => {
    for (const step of steps) {
      if (step.kind === 'file') {
        await put(dir, step.path, step.text);
        continue;
      }
      const r = await berth(step.argv, { url: server.url, cwd: dir });
      assert.equal(r.code, 0, `${step.line}\nexit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      results.set(step.line, r);
    }
  });

  it('ends with what the page says: pins, aliases, a prompt-only diff, the whole tree laid out for serving', async () => {
    const out = (line: string) => {
      const r = results.get(line);
      assert.ok(r, `not run: ${line}`);
      return r.stdout;
    };
    const show = async (ref: string) => {
      const r = await berth(['show', ref, '--json'], { url: server.url, cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };

    const chatbot = await show('chatbot@production');
    assert.equal(chatbot.version, 1);
    assert.equal(chatbot.metadata.val_accuracy, 0.918);
    assert.equal(chatbot.metadata.peft.r, 16);
    assert.equal((await show('chatbot@staging')).version, 1);
    assert.equal((await show('llama-3-8b:1')).metadata.upstream, `hf:meta-llama/Llama-3-8B@${UPSTREAM_COMMIT}`);
    assert.match(out('berth promote chatbot:1 --to production --policy chatbot-release'), /chatbot@production -> 1/);
    assert.deepEqual(await readFile(join(dir, 'model/adapter_config.json'), 'utf8'), await readFile(join(dir, 'checkpoints/best/adapter_config.json'), 'utf8'));
    assert.ok((await stat(join(dir, 'llama/model.safetensors'))).size > 0);

    const diff = out('berth diff cs-bot:1 cs-bot:2');
    assert.match(diff, /same\s+base: llama-3-8b:1/);
    assert.match(diff, /same\s+adapter cs-adapter: cs-adapter:1/);
    assert.match(diff, /changed\s+prompt: cs-system:1 \S+ -> cs-system:2/);
    assert.match(diff, /changed\s+prompt\.txt/);

    const tree = out('berth show cs-bot@champion --tree');
    for (const component of ['cs-bot:2', 'llama-3-8b:1', 'cs-adapter:1', 'cs-system:2', 'cs-rag:1'])
      assert.ok(tree.includes(component), `${component} in\n${tree}`);

    assert.match(out('berth prompt render cs-system@production --var customer_name=Ana --var product=router'), /Greet Ana, help with their router/);
    assert.equal((await show('cs-system@production')).metadata.prompt.variables.join(','), 'customer_name,product');
    const card = out('berth card chatbot:1');
    assert.match(card, /^---\n/);
    assert.match(card, /base_model/);

    const manifest = JSON.parse(await readFile(join(dir, 'deploy/berth-bundle.json'), 'utf8'));
    assert.ok(JSON.stringify(manifest).includes('cs-system'), 'the bundle manifest names the prompt');
    assert.equal(JSON.parse(await readFile(join(dir, 'deploy/adapters/cs-adapter/adapter_config.json'), 'utf8')).r, 8);
    assert.match(await readFile(join(dir, 'deploy/prompt/prompt.txt'), 'utf8'), /step by step/);
    assert.ok((await stat(join(dir, 'deploy/base/model.safetensors'))).size > 0);
    assert.ok((await stat(join(dir, 'deploy/rag/rag.yaml'))).size > 0);
  });
});
