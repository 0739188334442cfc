import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Locator } from 'playwright-core';
import { browserUnavailable, startUi, type UiWorld } from './support.js';

const skip = browserUnavailable();

/** The text as the user sees it laid out (table cells apart), which textContent runs together. */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what the user reads
const seen = (l: Locator) => l.innerText();

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A safetensors file with one F32 tensor of `n` elements. */
function safetensors(n: number): Buffer {
  const header = Buffer.from(JSON.stringify({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] } }));
  const out = Buffer.alloc(8 + header.length + n * 4);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  return out;
}

/** A pickle whose loading would run `os.system` (the scanner flags it unsafe). */
const EVIL = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the version page', { skip }, () => {
  let w: UiWorld;
  let weights: Buffer;
  let runId: string;
  /** A time after llama:1 was made and promoted, before llama:2, the bundle and the tag edit. */
  let t0: string;
  before(async () => {
    w = await startUi();
    const c = w.client;
    weights = safetensors(1536);
    const config = Buffer.from('{"architectures":["LlamaForCausalLM"]}');
    const run = await c.createRun({ experiment: 'fine-tune', params: { lr: '0.0003' } });
    runId = run.run_id;
    await c.logRun(runId, { datasets: [{ name: 'support-tickets', digest: `sha256:${'d'.repeat(64)}`, source: 's3://data/tickets' }] });
    await c.createModel({ name: 'llama', kind: 'model' });
    const files = [
      { path: 'model.safetensors', size: weights.length, sha256: sha(weights) },
      { path: 'legacy.bin', size: EVIL.length, sha256: sha(EVIL) },
      { path: 'config.json', size: config.length, sha256: sha(config) },
    ];
    await c.createVersion('llama', {
      files,
      blobs: [weights, EVIL, config].map((b) => ({ sha256: sha(b), base64: b.toString('base64') })),
      run_id: runId,
      tags: { env: 'staging' },
      metadata: { base_model: 'meta-llama/Llama-3-8B' },
    });
    await c.recordEvaluation('llama', 1, { metrics: { accuracy: 0.93 }, dataset: 'eval-set', source: 'ci' });
    await c.applyPolicy('llama-promotion', 'policy: llama-promotion\ntarget_alias: champion\ngates:\n  - { name: accuracy, metric: accuracy, min: 0.9 }\n');
    await c.promote('llama', { version: 1, policy: 'llama-promotion', reason: 'beats the baseline' });
    await sleep(50);
    t0 = new Date().toISOString();
    await sleep(50);
    await c.updateVersion('llama', 1, { tags: { env: 'prod' } });
    const v2 = Buffer.from('second weights');
    await c.createVersion('llama', {
      files: [{ path: 'model.bin', size: v2.length, sha256: sha(v2) }],
      blobs: [{ sha256: sha(v2), base64: v2.toString('base64') }],
    });
    await c.createBundle('support/cs-bot', { base: 'llama:1' });
  });
  after(async () => {
    await w?.stop();
  });

  it('shows files, digests, the safetensors summary, scan flags, lineage, evaluations and the gate report', async () => {
    const page = await w.open('/models/llama/versions/1');
    await page.getByRole('heading', { level: 1, name: 'llama version 1' }).waitFor();
    const files = page.locator('table.files');
    await files.getByRole('rowheader', { name: 'model.safetensors' }).waitFor();
    const row = files.locator('tr', { hasText: 'model.safetensors' });
    assert.match(await seen(row), new RegExp(sha(weights)));
    assert.match(await seen(row), /6\.\d+ KiB/);
    const summary = page.locator('section[aria-labelledby="safetensors"]');
    await summary.getByText('1.54 K parameters in 1 file.').waitFor();
    assert.match(await seen(summary), /model\.safetensors: 1 tensors, 1\.54 K parameters \(1,536\).*F32: 1 tensors/s);
    assert.match(await seen(page.locator('section[aria-labelledby="scan-flags"]')), /unsafe-pickle.*legacy\.bin.*system/s);
    const lineage = page.locator('section[aria-labelledby="lineage"]');
    await lineage.getByText(runId).waitFor();
    await lineage.getByText('support-tickets').waitFor();
    assert.match(await seen(lineage), /fine-tune.*lr=0\.0003/s);
    await lineage.getByRole('link', { name: 'support/cs-bot:1' }).waitFor();
    const evals = page.locator('section[aria-labelledby="evaluations"]');
    await evals.getByText('accuracy = 0.93').waitFor();
    const gates = page.locator('section[aria-labelledby="gate-reports"]');
    await gates.getByRole('heading', { name: /Promotion to @champion: passed/ }).waitFor();
    assert.match(await seen(gates), /llama-promotion.*beats the baseline.*accuracy\s+accuracy\s+0\.93\s+0\.9\s+pass/s);
    assert.equal(await seen(page.locator('dl.facts dd.aliases')), '@champion');
    assert.match(await seen(page.locator('section[aria-labelledby="metadata"]')), /env\s+prod/);
    await w.shot(page, 'version-llama-1');

    await lineage.getByRole('link', { name: 'support/cs-bot:1' }).click();
    await page.getByRole('heading', { level: 1, name: 'support/cs-bot version 1' }).waitFor();
    assert.match(page.url(), /\/models\/support%2Fcs-bot\/versions\/1$/);
    // The shared URL of a namespaced model's version loads by itself too.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'support/cs-bot version 1' }).waitFor();
    const bundleLineage = page.locator('section[aria-labelledby="lineage"]');
    await bundleLineage.getByRole('link', { name: 'llama:1' }).waitFor();
    await w.shot(page, 'version-bundle');
    await page.context().close();
  });

  it('shows the version as it was at ?at=, and says when it did not exist yet', async () => {
    const page = await w.open(`/models/llama/versions/1?at=${encodeURIComponent(t0)}`);
    await page.getByText('Viewing the registry as of').waitFor();
    const meta = page.locator('section[aria-labelledby="metadata"]');
    await meta.getByText('staging').waitFor();
    assert.doesNotMatch(await seen(meta), /prod/);
    const lineage = page.locator('section[aria-labelledby="lineage"]');
    await lineage.getByText('Nothing pins this version.').waitFor();
    assert.equal(await lineage.getByRole('link', { name: 'support/cs-bot:1' }).count(), 0);
    assert.equal(await page.locator('main').getByRole('button').count(), 0, 'a page in the past changes nothing');
    // Links keep the time: the model link carries ?at=.
    assert.match((await page.locator('main').getByRole('link', { name: 'llama', exact: true }).getAttribute('href')) ?? '', /at=/);
    await w.shot(page, 'version-at');

    await page.goto(`${w.url}/models/llama/versions/2?at=${encodeURIComponent(t0)}`);
    await page.getByText(/Version 2 of llama did not exist at .*: it was created at/).waitFor();
    assert.equal(await page.locator('table.files').count(), 0);
    await w.shot(page, 'version-not-yet');
    await page.getByRole('link', { name: 'back to now' }).click();
    await page.getByRole('rowheader', { name: 'model.bin' }).waitFor();
    assert.doesNotMatch(page.url(), /at=/);
    await page.context().close();
  });

  it("shows the server's message for a version that does not exist", async () => {
    const page = await w.open('/models/llama/versions/99');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await seen(alert), /not found|does not exist|no version/i);
    await w.shot(page, 'version-missing');
    await page.context().close();
  });
});
