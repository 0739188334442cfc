// `berth import mlflow` against a real `mlflow server` (.venv-compat) seeded by the real MLflow
// client, with the real berth CLI and server: what is copied, that a re-run copies nothing, and
// that an MLflow server that disappears midway leaves nothing half-imported.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Version } from '@berth/core';
import { BerthClient } from '@berth/sdk';
import { freePort, mlflowMissing, seedMlflow, startMlflow, type MlflowServer } from './import-mlflow/mlflow-server.js';
import { berth, BIN, ROOT, startBerth, tempDir, type ServerHandle } from './support.js';

const skip = mlflowMissing();

async function versionsOf(client: BerthClient, model: string): Promise<Version[]> {
  const out: Version[] = [];
  for await (const v of client.iterVersions(model)) out.push(v);
  return out.sort((a, b) => a.version - b.version);
}

async function mlflowPost(url: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(`${url}/api/2.0/mlflow/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.text());
}

describe('berth import mlflow', { skip }, () => {
  let work: { dir: string; cleanup(): Promise<void> };
  let mlflow: MlflowServer;
  let server: ServerHandle;
  let client: BerthClient;
  before(async () => {
    work = await tempDir('berth-import-mlflow-');
    mlflow = await startMlflow(join(work.dir, 'mlflow'));
    seedMlflow(mlflow.url, 'small');
    server = await startBerth(join(work.dir, 'berth'));
    client = new BerthClient({ url: server.url });
  });
  after(async () => {
    await server?.stop();
    await mlflow?.kill();
    await work?.cleanup();
  });

  it('refuses a missing or malformed --from and an MLflow server that is not there, changing nothing', async () => {
    const none = await berth(['import', 'mlflow'], { url: server.url });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--from URL is required/);
    const bad = await berth(['import', 'mlflow', '--from', 'ftp://x'], { url: server.url });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from "ftp:\/\/x" is not an http\(s\) URL/);
    const port = await freePort();
    const gone = await berth(['import', 'mlflow', '--from', `http://127.0.0.1:${port}`], { url: server.url });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`the MLflow server at http://127.0.0.1:${port} did not answer while listing registered models \\(ECONNREFUSED\\)`));
    assert.equal((await client.listModels()).items.length, 0);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const r = await berth(['import', 'mlflow', '--from', mlflow.url, '--dry-run', '--json'], { url: server.url });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.dry_run, true);
    assert.deepEqual(
      plan.models.map((m: { name: string; create: boolean }) => [m.name, m.create]),
      [
        ['chatbot', true],
        ['other-thing', true],
        ['ranker', true],
      ],
    );
    assert.deepEqual(plan.models[0].aliases, { champion: 2, previous: 1 });
    assert.equal(plan.to_copy, 4);
    assert.equal((await client.listModels()).items.length, 0);
  });

  it('--models copies only the models whose name matches the glob', async () => {
    const r = await berth(['import', 'mlflow', '--from', mlflow.url, '--models', 'rank*', '--json'], { url: server.url });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).models.map((m: { name: string }) => m.name),
      ['ranker'],
    );
    assert.deepEqual(
      (await client.listModels()).items.map((m) => m.name),
      ['ranker'],
    );
  });

  it('copies models, versions with their bytes, runs, aliases, stages, tags and descriptions; a re-run copies nothing', async () => {
    const r = await berth(['import', 'mlflow', '--from', mlflow.url, '--json'], { url: server.url });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.copied, 3);
    assert.equal(out.already_present, 1, 'ranker came in with --models before');
    assert.match(r.stderr, /\[1\/3\] chatbot: MLflow version 1 → chatbot:1/);

    const model = await client.getModel('chatbot');
    assert.equal(model.description, 'The chat model');
    assert.deepEqual(model.tags, { team: 'nlp' });
    assert.deepEqual(model.aliases, { champion: 2, previous: 1 });
    const [v1, v2] = await versionsOf(client, 'chatbot');
    assert.ok(v1 && v2);
    assert.equal(v1.stage, 'Archived');
    assert.equal(v2.stage, 'Production');
    assert.equal(v2.description, 'better');
    assert.deepEqual(v2.tags, { validated: 'yes' });
    const origin = v2.metadata.mlflow as { server: string; model: string; version: number; run_id: string; source: string };
    assert.equal(origin.server, mlflow.url);
    assert.equal(origin.model, 'chatbot');
    assert.equal(origin.version, 2);
    assert.equal(v2.run_id, origin.run_id);
    assert.equal(origin.source, `runs:/${origin.run_id}/model`);

    // the bytes are MLflow's own files, pinned by their sha256
    const full = await client.getVersion('chatbot', 2);
    const files = new Map((full.files ?? []).map((f) => [f.path, f.sha256]));
    assert.deepEqual([...files.keys()].sort(), ['config/config.json', 'weights.bin']);
    const onDisk = join(work.dir, 'mlflow', 'artifacts', '1', origin.run_id, 'artifacts', 'model');
    for (const [path, sha] of files)
      assert.equal(
        createHash('sha256')
          .update(await readFile(join(onDisk, path)))
          .digest('hex'),
        sha,
        path,
      );
    const ranker = (await client.getVersion('ranker', 1)).files?.[0];
    assert.equal(ranker?.size, 3 * 1024 * 1024);

    const run = await client.getRun(origin.run_id);
    assert.equal(run.experiment, 'import-test');
    assert.deepEqual(run.params, { lr: '0.05' });
    assert.deepEqual(run.metrics, { acc: 0.9, loss: 0.25 });
    assert.equal(run.status, 'FINISHED');

    const again = await berth(['import', 'mlflow', '--from', mlflow.url, '--json'], { url: server.url });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).copied, 0);
    assert.equal(JSON.parse(again.stdout).already_present, 4);
    assert.equal((await versionsOf(client, 'chatbot')).length, 2);
    assert.equal((await client.listAudit({ model: 'chatbot', limit: 1000 })).items.filter((e) => e.action.startsWith('version.create')).length, 2);
  });

  it('a re-run brings over stage, tag and alias changes made in MLflow since', async () => {
    await mlflowPost(mlflow.url, 'model-versions/transition-stage', { name: 'chatbot', version: '1', stage: 'Staging', archive_existing_versions: false });
    await mlflowPost(mlflow.url, 'model-versions/set-tag', { name: 'chatbot', version: '1', key: 'checked', value: 'no' });
    await mlflowPost(mlflow.url, 'registered-models/alias', { name: 'chatbot', alias: 'previous', version: '2' });
    const r = await berth(['import', 'mlflow', '--from', mlflow.url, '--models', 'chatbot'], { url: server.url });
    assert.equal(r.code, 0, r.stderr);
    const v1 = await client.getVersion('chatbot', 1);
    assert.equal(v1.stage, 'Staging');
    assert.deepEqual(v1.tags, { checked: 'no' });
    assert.equal((await client.getModel('chatbot')).aliases.previous, 2);
  });

  it('registers an s3:// version as external, names a model whose name Berth refuses exits 1, and imports the rest', async () => {
    await mlflowPost(mlflow.url, 'registered-models/create', { name: 'bad name' });
    await mlflowPost(mlflow.url, 'model-versions/create', { name: 'ranker', source: 's3://bucket/ranker' });
    const r = await berth(['--url', server.url, 'import', 'mlflow', '--from', mlflow.url]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /bad name: not imported: invalid model name "bad name"/);
    assert.match(r.stdout, /version 2 registered as external \(not content-addressed\): s3:\/\/bucket\/ranker/);
    assert.match(r.stdout, /0 version\(s\) copied, 4 already present, 0 not copied/);
    assert.equal((await client.listModels()).items.filter((m) => m.name === 'bad name').length, 0);
    const ranker = await versionsOf(client, 'ranker');
    assert.equal(ranker.length, 2);
    const ext = await client.getVersion('ranker', 2);
    assert.equal(ext.content_addressed, false);
    assert.equal(ext.external_uri, 's3://bucket/ranker');
    assert.equal((ext.metadata.mlflow as { version: number }).version, 2);
    const again = await berth(['import', 'mlflow', '--from', mlflow.url, '--models', 'ranker'], { url: server.url });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await versionsOf(client, 'ranker')).length, 2, 'a re-run registers the external version once');
  });
});

describe('berth import mlflow from a server that disappears midway', { skip }, () => {
  it('fails clearly, keeps only whole versions, and a re-run after the restart finishes with no duplicates', async () => {
    const work = await tempDir('berth-import-mlflow-kill-');
    const mlflowDir = join(work.dir, 'mlflow');
    let mlflow = await startMlflow(mlflowDir);
    const server = await startBerth(join(work.dir, 'berth'));
    try {
      const N = 12;
      seedMlflow(mlflow.url, 'many', String(N), 'fleet');
      const client = new BerthClient({ url: server.url });

      // kill the MLflow server (its whole process group) as soon as the first version is in
      const proc = spawn(process.execPath, [BIN, 'import', 'mlflow', '--from', mlflow.url], {
        cwd: ROOT,
        env: { ...process.env, BERTH_URL: server.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let killing: Promise<void> | undefined;
      proc.stderr.on('data', (d) => {
        stderr += d;
        if (!killing && stderr.includes('[1/12]')) killing = mlflow.kill();
      });
      const code = await new Promise<number | null>((res) => proc.once('exit', res));
      await killing;
      assert.equal(code, 1, stderr);
      assert.match(
        stderr,
        new RegExp(`error: the MLflow server at ${mlflow.url.replaceAll('.', '\\.')} (did not answer|stopped sending) .*run the same command again to finish`),
      );

      // every version that made it is whole: its files and its origin, no half of one
      const partial = await versionsOf(client, 'fleet');
      assert.ok(partial.length >= 1 && partial.length < N, `${partial.length} versions after the kill`);
      for (const v of partial) {
        assert.equal(v.file_count, 2);
        assert.equal((v.metadata.mlflow as { version: number }).version, v.version);
      }

      mlflow = await startMlflow(mlflowDir, mlflow.port);
      const r = await berth(['import', 'mlflow', '--from', mlflow.url, '--json'], { url: server.url });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).copied, N - partial.length);
      const all = await versionsOf(client, 'fleet');
      assert.deepEqual(
        all.map((v) => (v.metadata.mlflow as { version: number }).version),
        Array.from({ length: N }, (_, i) => i + 1),
      );
      const runs = new Set(all.map((v) => v.run_id));
      assert.equal(runs.size, N);
      for (const id of runs) assert.deepEqual(Object.keys((await client.getRun(id as string)).metrics), ['score']);
    } finally {
      await server.stop();
      await mlflow.kill();
      await work.cleanup();
    }
  });
});
