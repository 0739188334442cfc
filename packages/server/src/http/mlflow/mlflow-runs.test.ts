import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { mlflowCaller, openTestApp } from '../../../test-support/app.js';
import type { Registry } from '../../registry/registry.js';
import { localActor } from '../../registry/actor.js';

type Body = Record<string, any>;

describe('MLflow front: run search, run and experiment lifecycle', () => {
  let app: FastifyInstance;
  let closeApp: () => Promise<void>;
  let reg: Registry;

  const call = mlflowCaller(() => app);
  const ok = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, args: Record<string, unknown> = {}) => {
    const r = await call(method, path, args);
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    return r.body as Body;
  };
  const search = async (args: Record<string, unknown>) => ok('POST', '/runs/search', args);
  const runIds = (b: Body) => ((b.runs ?? []) as Body[]).map((r) => r.info.run_name as string);

  async function experiment(name: string): Promise<string> {
    return (await ok('POST', '/experiments/create', { name })).experiment_id;
  }

  async function run(
    experimentId: string,
    name: string,
    data: { metrics?: Record<string, number>; params?: Record<string, string>; tags?: Record<string, string>; start?: number } = {},
  ): Promise<string> {
    const r = await ok('POST', '/runs/create', { experiment_id: experimentId, run_name: name, start_time: data.start ?? Date.now() });
    const id = r.run.info.run_id as string;
    await ok('POST', '/runs/log-batch', {
      run_id: id,
      metrics: Object.entries(data.metrics ?? {}).map(([key, value]) => ({ key, value, timestamp: Date.now(), step: 0 })),
      params: Object.entries(data.params ?? {}).map(([key, value]) => ({ key, value })),
      tags: Object.entries(data.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
    return id;
  }

  before(async () => {
    const t = await openTestApp('berth-mlflow-runs-');
    app = t.app;
    reg = t.registry;
    closeApp = t.close;
  });
  after(async () => closeApp?.());

  it('searches runs by metrics, params and tags and returns them in MLflow JSON', async () => {
    const exp = await experiment('search-basics');
    const t = 1_800_000_000_000;
    await run(exp, 'r1', { metrics: { loss: 0.3, acc: 0.9 }, params: { lr: '0.1' }, tags: { team: 'a' }, start: t + 1 });
    await run(exp, 'r2', { metrics: { loss: 0.6 }, params: { lr: '0.01' }, tags: { team: 'b' }, start: t + 2 });
    await run(exp, 'r3', { params: { lr: '0.1' }, start: t + 3 });
    assert.deepEqual(runIds(await search({ experiment_ids: [exp] })), ['r3', 'r2', 'r1'], 'newest start first by default');
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], filter: 'metrics.loss < 0.5' })), ['r1']);
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], filter: "params.lr = '0.1'" })), ['r3', 'r1']);
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], filter: "tags.team = 'a'" })), ['r1']);
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], filter: "attributes.run_name LIKE 'r%' AND params.lr != '0.1'" })), ['r2']);
    assert.deepEqual(
      runIds(await search({ experiment_ids: [exp], order_by: ['metrics.loss DESC'] })),
      ['r2', 'r1', 'r3'],
      'a run without the metric comes last',
    );
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], order_by: ['metrics.loss ASC'] })), ['r1', 'r2', 'r3'], 'last in both directions');
    const r1 = (await search({ experiment_ids: [exp], filter: "run_name = 'r1'" })).runs[0];
    assert.equal(r1.info.experiment_id, exp);
    assert.equal(r1.info.lifecycle_stage, 'active');
    assert.equal(r1.info.start_time, t + 1);
    assert.deepEqual((r1.data.metrics as Body[]).map((m) => [m.key, m.value]).sort(), [
      ['acc', 0.9],
      ['loss', 0.3],
    ]);
    assert.deepEqual(r1.data.params, [{ key: 'lr', value: '0.1' }]);
    assert.ok((r1.data.tags as Body[]).some((x) => x.key === 'team' && x.value === 'a'));
    const none = await search({ experiment_ids: [exp], filter: 'metrics.loss > 100' });
    assert.deepEqual(none, {}, 'no hits is an empty object, as MLflow answers');
    assert.deepEqual(await search({ experiment_ids: [] }), {});
  });

  it('pages with max_results and page_token over every run exactly once', async () => {
    const exp = await experiment('search-pages');
    const names = Array.from({ length: 7 }, (_, i) => `p${i}`);
    for (const [i, n] of names.entries()) await run(exp, n, { metrics: { score: i % 3 }, start: 1_800_000_000_000 + i });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await search({ experiment_ids: [exp], max_results: 3, order_by: ['metrics.score DESC'], ...(token ? { page_token: token } : {}) });
      seen.push(...runIds(page));
      token = page.next_page_token;
      pages++;
    } while (token);
    assert.equal(pages, 3, '3 + 3 + 1, the last page without a token');
    assert.deepEqual(seen, runIds(await search({ experiment_ids: [exp], order_by: ['metrics.score DESC'] })));
    assert.deepEqual([...seen].sort(), names);
  });

  it('answers bad input with 400 INVALID_PARAMETER_VALUE, never a 5xx', async () => {
    const exp = await experiment('search-errors');
    const bad: Record<string, unknown>[] = [
      { filter: 'metrics.loss > 1 OR metrics.loss < 0' },
      { filter: "params.lr = '0.1" },
      { filter: 'metrics.loss > abc' },
      { filter: "datasets.schema = 'x'" },
      { filter: "colour = 'red'" },
      { order_by: ['metrics.loss SIDEWAYS'] },
      { order_by: ['metrics.loss', 'metrics.loss DESC'] },
      { page_token: 'not-a-token' },
      { max_results: 50_001 },
      { max_results: 0 },
      { max_results: 'ten' },
      { run_view_type: 'SOMETIMES' },
      { order_by: [{ not: 'a string' }] },
    ];
    for (const args of bad) {
      const r = await call('POST', '/runs/search', { experiment_ids: [exp], ...args });
      assert.deepEqual([r.status, r.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], JSON.stringify(args));
      assert.ok(typeof r.body.message === 'string' && r.body.message.length > 10, JSON.stringify(r.body));
    }
    assert.equal((await call('POST', '/runs/search', { experiment_ids: [exp], max_results: 50_000 })).status, 200, 'MLflow allows up to 50,000');
  });

  it('reads int64 fields sent as strings, as protobuf JSON writes them', async () => {
    const exp = await experiment('strings-for-numbers');
    const created = await ok('POST', '/runs/create', { experiment_id: exp, run_name: 'str', start_time: '1700000000000' });
    const id = created.run.info.run_id as string;
    assert.equal(created.run.info.start_time, 1700000000000);
    await ok('POST', '/runs/log-batch', { run_id: id, metrics: [{ key: 'loss', value: '0.5', step: '3', timestamp: '1700000000001' }] });
    const got = await ok('GET', '/runs/get', { run_id: id });
    assert.deepEqual(got.run.data.metrics, [{ key: 'loss', value: 0.5, timestamp: 1700000000001, step: 3 }]);
    const late = await call('POST', '/runs/create', { experiment_id: exp, start_time: 'soon' });
    assert.deepEqual([late.status, late.body], [400, { error_code: 'INVALID_PARAMETER_VALUE', message: "Parameter 'start_time' must be a number." }]);
    const keyless = await call('POST', '/runs/log-batch', { run_id: id, metrics: [{ value: 1 }] });
    assert.deepEqual([keyless.status, keyless.body], [400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Each metric needs a key and a numeric value.' }]);
  });

  it('deletes and restores a run: still readable by id, out of default searches, audited', async () => {
    const exp = await experiment('lifecycle-runs');
    const keep = await run(exp, 'keep');
    const drop = await run(exp, 'drop', { metrics: { loss: 1 } });
    await ok('POST', '/runs/delete', { run_id: drop });
    const got = await ok('GET', '/runs/get', { run_id: drop });
    assert.equal(got.run.info.lifecycle_stage, 'deleted');
    assert.deepEqual(runIds(await search({ experiment_ids: [exp] })), ['keep']);
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], run_view_type: 'DELETED_ONLY' })), ['drop']);
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], run_view_type: 'ALL' })).sort(), ['drop', 'keep']);
    const logged = await call('POST', '/runs/log-metric', { run_id: drop, key: 'loss', value: 2, timestamp: 1, step: 1 });
    assert.deepEqual([logged.status, logged.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], 'a deleted run takes no writes, as in MLflow');
    await ok('POST', '/runs/delete', { run_id: drop }); // deleting again is a silent success
    await ok('POST', '/runs/restore', { run_id: drop });
    assert.equal((await ok('GET', '/runs/get', { run_id: drop })).run.info.lifecycle_stage, 'active');
    assert.deepEqual(runIds(await search({ experiment_ids: [exp] })).sort(), ['drop', 'keep']);
    const events = (await reg.audit.list({ limit: 1000 })).items.filter((e) => e.subject === drop && e.action.startsWith('run.'));
    assert.deepEqual(
      events.filter((e) => e.action !== 'run.update').map((e) => [e.action, e.before, e.after]),
      [
        ['run.create', null, { experiment_id: exp, name: 'drop' }],
        ['run.delete', { lifecycle_stage: 'active' }, { lifecycle_stage: 'deleted' }],
        ['run.restore', { lifecycle_stage: 'deleted' }, { lifecycle_stage: 'active' }],
      ],
      'one event per change; the repeated delete changed nothing and recorded nothing',
    );
    for (const path of ['/runs/delete', '/runs/restore']) {
      const missing = await call('POST', path, { run_id: '0'.repeat(32) });
      assert.deepEqual([missing.status, missing.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST'], path);
      const empty = await call('POST', path, {});
      assert.deepEqual([empty.status, empty.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], path);
    }
    assert.ok(keep);
  });

  it('deleting a run leaves the versions registered from it unchanged', async () => {
    const exp = await experiment('lifecycle-registered');
    const id = await run(exp, 'source');
    const bytes = Buffer.from('weights v1');
    await reg.artifacts.put(localActor(), `${exp}/${id}/artifacts/model/weights.bin`, Readable.from([bytes]), bytes.length);
    await ok('POST', '/registered-models/create', { name: 'from-deleted-run' });
    const v = (await ok('POST', '/model-versions/create', { name: 'from-deleted-run', source: `runs:/${id}/model`, run_id: id })).model_version;
    const before = await reg.versions.get('from-deleted-run', 1);
    await ok('POST', '/runs/delete', { run_id: id });
    const after = await reg.versions.get('from-deleted-run', 1);
    assert.equal(after.digest, before.digest);
    assert.equal(after.updated_at, before.updated_at);
    assert.equal((await ok('GET', '/model-versions/get', { name: 'from-deleted-run', version: v.version })).model_version.run_id, id);
    const uri = (await ok('GET', '/model-versions/get-download-uri', { name: 'from-deleted-run', version: '1' })).artifact_uri as string;
    const file = await app.inject({ method: 'GET', url: `/api/2.0/mlflow-artifacts/artifacts/${uri.slice('mlflow-artifacts:/'.length)}/weights.bin` });
    assert.equal(file.statusCode, 200);
    assert.equal(file.body, 'weights v1');
  });

  it('refuses to register a version from artifacts that hold a .git folder, and creates nothing', async () => {
    const exp = await experiment('register-vcs-folder');
    const id = await run(exp, 'source');
    const root = `/api/2.0/mlflow-artifacts/artifacts/${exp}/${id}/artifacts/model`;
    for (const [path, body] of [
      ['MLmodel', 'flavors: {}'],
      ['.git/config', '[core]\n\tfsmonitor = touch /tmp/owned'],
    ]) {
      const put = await app.inject({ method: 'PUT', url: `${root}/${path}`, payload: body, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(put.statusCode, 200, 'a run may log any safe path: only a version refuses these names');
    }
    await ok('POST', '/registered-models/create', { name: 'vcs-folder' });
    const r = await call('POST', '/model-versions/create', { name: 'vcs-folder', source: `runs:/${id}/model`, run_id: id });
    assert.deepEqual([r.status, r.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(r.body.message, /"\.git\/config": '\.git' is a version control folder/);
    assert.deepEqual((await ok('POST', '/model-versions/search', { filter: "name='vcs-folder'" })).model_versions ?? [], []);
  });

  it('deletes, restores and renames experiments with MLflow semantics', async () => {
    const exp = await experiment('lifecycle-exp');
    const a = await run(exp, 'a');
    const b = await run(exp, 'b');
    await ok('POST', '/runs/delete', { run_id: b });
    await ok('POST', '/experiments/delete', { experiment_id: exp });
    assert.equal((await ok('GET', '/experiments/get', { experiment_id: exp })).experiment.lifecycle_stage, 'deleted');
    assert.equal((await ok('GET', '/runs/get', { run_id: a })).run.info.lifecycle_stage, 'deleted', 'runs of a deleted experiment read as deleted');
    assert.deepEqual(await search({ experiment_ids: [exp] }), {});
    assert.deepEqual(runIds(await search({ experiment_ids: [exp], run_view_type: 'DELETED_ONLY' })).sort(), ['a', 'b']);
    const created = await call('POST', '/runs/create', { experiment_id: exp });
    assert.deepEqual([created.status, created.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], 'no new runs in a deleted experiment');
    const restoreRun = await call('POST', '/runs/restore', { run_id: a });
    assert.deepEqual([restoreRun.status, restoreRun.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const again = await call('POST', '/experiments/delete', { experiment_id: exp });
    assert.deepEqual([again.status, again.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST'], 'MLflow finds only active experiments to delete');
    const renameDeleted = await call('POST', '/experiments/update', { experiment_id: exp, new_name: 'x' });
    assert.deepEqual([renameDeleted.status, renameDeleted.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    await ok('POST', '/experiments/restore', { experiment_id: exp });
    assert.deepEqual(runIds(await search({ experiment_ids: [exp] })), ['a'], 'the run deleted on its own stays deleted');
    const restoreActive = await call('POST', '/experiments/restore', { experiment_id: exp });
    assert.deepEqual([restoreActive.status, restoreActive.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);

    await ok('POST', '/experiments/update', { experiment_id: exp, new_name: 'lifecycle-exp-renamed' });
    assert.equal((await ok('GET', '/experiments/get-by-name', { experiment_name: 'lifecycle-exp-renamed' })).experiment.experiment_id, exp);
    assert.equal((await call('GET', '/experiments/get-by-name', { experiment_name: 'lifecycle-exp' })).status, 404);
    await experiment('taken');
    const dup = await call('POST', '/experiments/update', { experiment_id: exp, new_name: 'taken' });
    assert.deepEqual([dup.status, dup.body.error_code], [400, 'RESOURCE_ALREADY_EXISTS']);
    await ok('POST', '/experiments/update', { experiment_id: exp, new_name: 'lifecycle-exp-renamed' }); // to its own name: nothing to do
    const noName = await call('POST', '/experiments/update', { experiment_id: exp });
    assert.deepEqual([noName.status, noName.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    const missing = await call('POST', '/experiments/delete', { experiment_id: '987654' });
    assert.deepEqual([missing.status, missing.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const deflt = await call('POST', '/experiments/delete', { experiment_id: '0' });
    assert.deepEqual([deflt.status, deflt.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(deflt.body.message, /default experiment/);

    const events = (await reg.audit.list({ limit: 1000 })).items.filter((e) => e.subject === `experiment:${exp}`);
    assert.deepEqual(
      events.map((e) => [e.action, e.before, e.after]),
      [
        ['experiment.create', null, { name: 'lifecycle-exp' }],
        ['experiment.delete', { lifecycle_stage: 'active' }, { lifecycle_stage: 'deleted' }],
        ['experiment.restore', { lifecycle_stage: 'deleted' }, { lifecycle_stage: 'active' }],
        ['experiment.rename', { name: 'lifecycle-exp' }, { name: 'lifecycle-exp-renamed' }],
      ],
    );
  });

  it('searches experiments by view type and name, paging with tokens', async () => {
    for (const n of ['vt-1', 'vt-2', 'vt-3']) await experiment(n);
    const gone = (await ok('GET', '/experiments/get-by-name', { experiment_name: 'vt-2' })).experiment.experiment_id;
    await ok('POST', '/experiments/delete', { experiment_id: gone });
    const names = (b: Body) => ((b.experiments ?? []) as Body[]).map((e) => e.name as string);
    assert.deepEqual(names(await ok('POST', '/experiments/search', { filter: "name LIKE 'vt-%'" })).sort(), ['vt-1', 'vt-3']);
    assert.deepEqual(names(await ok('POST', '/experiments/search', { filter: "name LIKE 'vt-%'", view_type: 'DELETED_ONLY' })), ['vt-2']);
    assert.deepEqual(names(await ok('GET', '/experiments/search', { filter: "name LIKE 'vt-%'", view_type: 'ALL' })).sort(), ['vt-1', 'vt-2', 'vt-3']);
    assert.deepEqual(names(await ok('POST', '/experiments/search', { filter: "name = 'vt-3'" })), ['vt-3']);
    const p1 = await ok('POST', '/experiments/search', { filter: "name LIKE 'vt-%'", view_type: 'ALL', max_results: 2, order_by: ['name DESC'] });
    assert.deepEqual(names(p1), ['vt-3', 'vt-2']);
    const p2 = await ok('POST', '/experiments/search', {
      filter: "name LIKE 'vt-%'",
      view_type: 'ALL',
      max_results: 2,
      order_by: ['name DESC'],
      page_token: p1.next_page_token,
    });
    assert.deepEqual(names(p2), ['vt-1']);
    assert.equal(p2.next_page_token, undefined);
    assert.ok(names(await ok('GET', '/experiments/search', {})).includes('Default'));
    for (const args of [
      { filter: "name = 'a' OR name = 'b'" },
      { filter: 'metrics.a > 1' },
      { order_by: ['tags.x'] },
      { view_type: 'NEVER' },
      { max_results: 50_001 },
    ]) {
      const r = await call('POST', '/experiments/search', args);
      assert.deepEqual([r.status, r.body.error_code], [400, 'INVALID_PARAMETER_VALUE'], JSON.stringify(args));
    }
  });
});
