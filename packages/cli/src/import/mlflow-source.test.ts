import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BerthError } from '@berth/core';
import { localPath, MlflowSource } from './mlflow-source.js';

const answering =
  (status: number, body: string): typeof fetch =>
  async () =>
    new Response(body, { status });

describe('MlflowSource', () => {
  it('refuses a --from that is not an http(s) URL', () => {
    assert.throws(() => new MlflowSource('mlflow.internal:5000', fetch), /--from "mlflow.internal:5000" is not an http\(s\) URL/);
    assert.throws(() => new MlflowSource('not a url', fetch), /--from "not a url" is not a URL/);
  });

  it('shows an MLflow error answer with its error_code and message, as NOT_FOUND for a 404', async () => {
    const src = new MlflowSource('http://mlflow:5000/', answering(404, '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run abc not found"}'));
    await assert.rejects(src.run('abc'), (err: unknown) => {
      assert.ok(err instanceof BerthError);
      assert.equal(err.code, 'NOT_FOUND');
      assert.equal(err.message, 'the MLflow server at http://mlflow:5000 answered 404 while reading run abc: RESOURCE_DOES_NOT_EXIST: Run abc not found');
      return true;
    });
  });

  it('says when the address is not an MLflow server', async () => {
    const src = new MlflowSource('http://mlflow:5000', answering(200, '<html>'));
    await assert.rejects(src.models(), /answered listing registered models with something that is not JSON: is --from an MLflow server\?/);
    const denied = new MlflowSource('http://mlflow:5000', answering(403, 'forbidden'));
    await assert.rejects(
      denied.models(),
      (err: unknown) =>
        err instanceof BerthError && err.code === 'PERMISSION_DENIED' && /answered 403 while listing registered models: forbidden/.test(err.message),
    );
  });

  it('refuses a download shorter than the size MLflow listed, and a listed path that climbs out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-mlflow-source-'));
    try {
      const src = new MlflowSource('http://mlflow:5000', answering(200, 'abc'));
      await src.download('1/run/artifacts', { path: 'a.bin', size: 3 }, join(dir, 'ok.bin'), 'm version 1');
      assert.equal(await readFile(join(dir, 'ok.bin'), 'utf8'), 'abc');
      await assert.rejects(
        src.download('1/run/artifacts', { path: 'a.bin', size: 5 }, join(dir, 'short.bin'), 'm version 1'),
        /a\.bin of m version 1 is 3 bytes, but the MLflow server lists 5: run the import again/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b']) assert.throws(() => localPath('/tmp/d', bad), /is not a plain relative path/, bad);
    assert.equal(localPath('/tmp/d', 'config/config.json'), '/tmp/d/config/config.json');
  });

  it('follows runs:/, models:/m-… and mlflow-artifacts: sources to the artifact proxy, and no other', async () => {
    const answers: Record<string, unknown> = {
      '/api/2.0/mlflow/runs/get?run_id=r1': { run: { info: { run_id: 'r1', experiment_id: '1', artifact_uri: 'mlflow-artifacts:/1/r1/artifacts' }, data: {} } },
      '/api/2.0/mlflow/runs/get?run_id=r2': { run: { info: { run_id: 'r2', experiment_id: '1', artifact_uri: 's3://bucket/1/r2/artifacts' }, data: {} } },
      '/api/2.0/mlflow/logged-models/m-0abc': { model: { info: { artifact_uri: 'mlflow-artifacts://mlflow:5000/1/models/m-0abc/artifacts/' } } },
    };
    const fake: typeof fetch = async (url) => {
      const body = answers[String(url).replace('http://mlflow:5000', '')];
      return new Response(JSON.stringify(body ?? {}), { status: body ? 200 : 404 });
    };
    const src = new MlflowSource('http://mlflow:5000', fake);
    assert.equal(await src.artifactPath('runs:/r1/model', 'v'), '1/r1/artifacts/model');
    assert.equal(await src.artifactPath('runs:/r1', 'v'), '1/r1/artifacts');
    assert.equal(await src.artifactPath('runs:/r2/model', 'v'), undefined);
    assert.equal(await src.artifactPath('models:/m-0abc', 'v'), '1/models/m-0abc/artifacts');
    assert.equal(await src.artifactPath('mlflow-artifacts:/2/x/', 'v'), '2/x');
    assert.equal(await src.artifactPath('s3://bucket/model', 'v'), undefined);
    assert.equal(await src.artifactPath('file:///mnt/models/x', 'v'), undefined);
  });
});
