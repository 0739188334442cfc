import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthClient } from '@berth/sdk';
import { startCliApp, type CliApp } from '../../test-support/cli-app.js';

/** External versions (decision 0021) as the CLI shows them, registered through the SDK as an importer does. */
describe('berth show, ls and pull of an external version', () => {
  let cli: CliApp;

  before(async () => {
    cli = await startCliApp('berth-cli-external-');
    await cli.writeFiles({ 'v1/model.bin': 'weights' });
    await cli.ok('push', './v1', '--model', 'mixed');
    const client = new BerthClient({ url: cli.url, actor: 'importer' });
    const v = await client.createVersion('mixed', { files: [], external_uri: 's3://bucket/models/mixed', metadata: { mlflow: { version: '2' } } });
    assert.deepEqual([v.version, v.content_addressed, v.external_uri], [2, false, 's3://bucket/models/mixed']);
  });
  after(async () => cli.stop());

  it('marks it in show, with the URI and no digest, and in show --json', async () => {
    const shown = (await cli.ok('show', 'mixed:2')).stdout;
    assert.match(shown, /digest:\s+none: external version, not content-addressed\n/);
    assert.match(shown, /external:\s+s3:\/\/bucket\/models\/mixed \(Berth holds no files of it; bundles, adapters and promotions refuse it\)\n/);
    assert.doesNotMatch(shown, /sha256:/);
    const json = JSON.parse((await cli.ok('show', 'mixed:2', '--json')).stdout);
    assert.deepEqual([json.content_addressed, json.external_uri], [false, 's3://bucket/models/mixed']);
    const plain = (await cli.ok('show', 'mixed:1')).stdout;
    assert.match(plain, /digest:\s+sha256:[0-9a-f]{64}\n/);
    assert.doesNotMatch(plain, /^external:/m);
  });

  it('marks it in ls where a content-addressed version shows its digest', async () => {
    const lines = (await cli.ok('ls', 'mixed')).stdout.split('\n');
    assert.match(lines.find((l) => /^2\s/.test(l)) ?? '', /^2\s+external s3:\/\/bucket\/models\/mixed\s/);
    assert.doesNotMatch(lines.find((l) => /^1\s/.test(l)) ?? '', /external s3:/);
    const json = JSON.parse((await cli.ok('ls', 'mixed', '--json')).stdout);
    assert.deepEqual(
      json.map((v: { version: number; content_addressed: boolean }) => [v.version, v.content_addressed]),
      [
        [2, false],
        [1, true],
      ],
    );
  });

  it('refuses to pull it, saying where its bytes are, and writes nothing', async () => {
    const r = await cli.berth('pull', 'mixed', '--output', 'out');
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /mixed:2 is an external version \(its files stay at s3:\/\/bucket\/models\/mixed; .*berth pull has nothing to download \(fetch it from that URI\)/,
    );
    assert.equal((await cli.berth('show', 'mixed', '--json')).code, 0);
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(`${cli.dir}/out`), false);
  });
});
