import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseMlflowExperimentFilter, parseMlflowExperimentOrderBy, parseMlflowRunFilter, parseMlflowRunOrderBy } from '@berth/core';
import { BACKENDS } from '../../test-support/backends.js';
import type { Store } from './store.js';
import type { MetricPoint, RunRecord, RunScope } from './runs.js';

/** Run and experiment search in SQL: the same answers from every backend. */
for (const backend of BACKENDS) {
  describe(`run search SQL on ${backend.name}`, { skip: backend.unavailable }, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const t0 = Date.parse('2026-03-08T14:32:00Z');

    async function run(
      id: string,
      opts: {
        exp?: string | null;
        start?: number | null;
        end?: number | null;
        name?: string | null;
        params?: Record<string, string>;
        tags?: Record<string, string>;
        stage?: string | null;
        metrics?: MetricPoint[];
        datasets?: RunRecord['datasets'];
        status?: string;
      },
    ) {
      const r: RunRecord = {
        id,
        experiment: 'e',
        name: opts.name === undefined ? id : opts.name,
        status: opts.status ?? 'FINISHED',
        params: opts.params ?? {},
        tags: opts.tags ?? {},
        datasets: opts.datasets ?? [],
        created_by: 'alice',
        created_at: t0,
        updated_at: t0,
        experiment_id: opts.exp === undefined ? '1' : opts.exp,
        start_time: opts.start === undefined ? t0 : opts.start,
        end_time: opts.end ?? null,
        lifecycle_stage: opts.stage === undefined ? 'active' : opts.stage,
        outputs: [],
      };
      await store.transaction(async (tx) => {
        await tx.runs.insert(r);
        if (opts.metrics) await tx.runs.logMetrics(id, opts.metrics);
      });
    }

    const m = (key: string, value: number, step = 0, timestamp = t0): MetricPoint => ({ key, value, step, timestamp });

    async function ids(filter = '', order: string[] = [], scopes: RunScope[] = [{ experimentIds: ['1'], runStage: 'active' }], offset = 0, limit = 100) {
      const rows = await store.read.runs.search({ scopes, clauses: parseMlflowRunFilter(filter), order: parseMlflowRunOrderBy(order), offset, limit });
      return rows.map((r) => r.id);
    }

    before(async () => {
      const opened = await backend.open();
      store = opened.store;
      cleanup = opened.cleanup;
      await run('a', {
        start: t0 + 3,
        params: { lr: '0.1', model: 'Llama' },
        tags: { team: 'search', 'odd "key"': 'x' },
        metrics: [m('loss', 0.9, 0), m('loss', 0.3, 5), m('acc', 0.8)],
        status: 'RUNNING',
      });
      await run('b', {
        start: t0 + 2,
        end: t0 + 10,
        params: { lr: '0.01', model: 'llama-2' },
        tags: { team: 'Search' },
        metrics: [m('loss', 0.5)],
        datasets: [{ name: 'support', digest: 'd1', source: null, tags: { 'mlflow.data.context': 'training' } }],
      });
      await run('c', { start: t0 + 1, params: { model: 'x*[y]\\z' }, metrics: [m('loss', 0.7, 1, t0), m('loss', 0.1, 1, t0 - 5)], name: 'Zeta' });
      await run('d', { start: t0 + 2, tags: { team: 'infra' }, name: null });
      await run('gone', { stage: 'deleted', metrics: [m('loss', 0.0)] });
      await run('elsewhere', { exp: '2', metrics: [m('loss', 0.2)] });
      await run('native', { exp: null, start: null });
    });
    after(async () => cleanup?.());

    it('orders by start time newest first, then run id, by default', async () => {
      assert.deepEqual(await ids(), ['a', 'b', 'd', 'c']);
    });

    it('filters metrics on their latest value; runs without the metric never match', async () => {
      assert.deepEqual(await ids('metrics.loss < 0.6'), ['a', 'b'], 'a: step 5 is latest (0.3); c: same step, newer timestamp wins (0.7)');
      assert.deepEqual(await ids('metrics.loss >= 0.7'), ['c']);
      assert.deepEqual(await ids('metrics.loss != 0.5'), ['a', 'c'], 'd has no loss and does not match !=');
      assert.deepEqual(await ids('metrics.loss > 0.25 AND metrics.acc = 0.8'), ['a']);
      assert.deepEqual(await ids('metrics.missing > -1'), []);
    });

    it('filters params and tags with case-sensitive LIKE, ILIKE and literal pattern characters', async () => {
      assert.deepEqual(await ids("params.model LIKE 'llama%'"), ['b'], 'LIKE is case-sensitive');
      assert.deepEqual(await ids("params.model ILIKE 'llama%'"), ['a', 'b']);
      assert.deepEqual(await ids("params.model LIKE 'x*[y]\\\\z'"), ['c'], 'GLOB and escape characters are literal');
      assert.deepEqual(await ids("params.model LIKE 'x_[y]%'"), ['c']);
      assert.deepEqual(await ids("params.model LIKE 'x'"), []);
      assert.deepEqual(await ids("tags.team = 'search'"), ['a']);
      assert.deepEqual(await ids("tags.team != 'search'"), ['b', 'd'], 'only runs that have the tag');
      assert.deepEqual(await ids('tags.`odd "key"` = \'x\''), ['a'], 'keys with quotes are bound, not spliced');
      assert.deepEqual(await ids('params.lr IS NULL'), ['d', 'c']);
      assert.deepEqual(await ids('params.lr IS NOT NULL'), ['a', 'b']);
    });

    it('filters attributes as MLflow shows them', async () => {
      assert.deepEqual(await ids("attributes.status = 'RUNNING'"), ['a']);
      assert.deepEqual(await ids("run_name = 'Zeta'"), ['c']);
      assert.deepEqual(await ids("run_name = ''"), ['d'], 'a run without a name reads as an empty name');
      assert.deepEqual(await ids("user_id = 'alice'"), ['a', 'b', 'd', 'c']);
      assert.deepEqual(await ids("attributes.artifact_uri = 'mlflow-artifacts:/1/b/artifacts'"), ['b']);
      assert.deepEqual(await ids(`attributes.start_time >= ${t0 + 2}`), ['a', 'b', 'd']);
      assert.deepEqual(await ids(`attributes.start_time > ${t0 + 1.5}`), ['a', 'b', 'd'], 'a fraction compares as a number on every backend');
      assert.deepEqual(await ids('attributes.end_time > 0'), ['b'], 'runs without an end time do not match');
      assert.deepEqual(await ids("run_id IN ('a', 'c', 'gone')"), ['a', 'c']);
      assert.deepEqual(await ids("run_id NOT IN ('a', 'c')"), ['b', 'd']);
    });

    it('filters dataset inputs by name, digest and context', async () => {
      assert.deepEqual(await ids("datasets.name = 'support'"), ['b']);
      assert.deepEqual(await ids("datasets.digest IN ('d1', 'd2')"), ['b']);
      assert.deepEqual(await ids("datasets.context = 'training'"), ['b']);
      assert.deepEqual(await ids("datasets.context LIKE 'eval%'"), []);
      assert.deepEqual(await ids("datasets.name != 'other'"), ['b'], 'runs without datasets do not match');
    });

    it('orders by metrics, params and tags with missing values last in either direction', async () => {
      assert.deepEqual(await ids('', ['metrics.loss ASC']), ['a', 'b', 'c', 'd']);
      assert.deepEqual(await ids('', ['metrics.loss DESC']), ['c', 'b', 'a', 'd']);
      assert.deepEqual(await ids('', ['params.lr']), ['b', 'a', 'd', 'c'], 'strings; missing last, then start time');
      assert.deepEqual(await ids('', ['params.lr DESC']), ['a', 'b', 'd', 'c']);
      assert.deepEqual(await ids('', ['tags.team']), ['b', 'd', 'a', 'c'], 'by code point: "Search" < "infra" < "search"');
      assert.deepEqual(await ids('', ['attributes.start_time ASC']), ['c', 'b', 'd', 'a'], 'then run id ascending');
      assert.deepEqual(await ids('', ['attributes.end_time DESC', 'run_name DESC']), ['b', 'a', 'c', 'd']);
    });

    it('pages by offset over the same order', async () => {
      const all = await ids('', ['metrics.loss DESC']);
      const pages = [await ids('', ['metrics.loss DESC'], undefined, 0, 3), await ids('', ['metrics.loss DESC'], undefined, 3, 3)];
      assert.deepEqual(pages, [all.slice(0, 3), all.slice(3)]);
    });

    it('scopes by experiment and lifecycle stage; runs without an experiment id are in experiment 0', async () => {
      assert.deepEqual(await ids('', [], [{ experimentIds: ['1'], runStage: 'deleted' }]), ['gone']);
      assert.deepEqual((await ids('', [], [{ experimentIds: ['1'] }])).sort(), ['a', 'b', 'c', 'd', 'gone']);
      assert.deepEqual(await ids('', [], [{ experimentIds: ['2'] }, { experimentIds: ['1'], runStage: 'deleted' }]), ['elsewhere', 'gone']);
      assert.deepEqual(await ids('', [], [{ experimentIds: ['0'], runStage: 'active' }]), ['native']);
      assert.deepEqual(await ids('', [], [{ experimentIds: [] }]), []);
    });

    it('returns the latest point of every metric for a page of runs', async () => {
      const latest = await store.read.runs.latestMetricPointsOf(['a', 'c', 'd']);
      assert.deepEqual(latest.get('a'), [m('acc', 0.8), m('loss', 0.3, 5)]);
      assert.deepEqual(latest.get('c'), [m('loss', 0.7, 1, t0)]);
      assert.deepEqual(latest.get('d'), []);
      for (const id of ['a', 'c']) assert.deepEqual(latest.get(id), await store.read.runs.latestMetricPoints(id), 'the same answer as one run at a time');
    });

    it('searches experiments by stage, name and tags, newest first, and renames them', async () => {
      const at = (n: number) => t0 + n;
      await store.transaction(async (tx) => {
        await tx.experiments.insert({
          id: '1',
          name: 'fine-tune',
          artifact_location: '1',
          lifecycle_stage: 'active',
          tags: { team: 'a' },
          created_at: at(1),
          updated_at: at(1),
        });
        await tx.experiments.insert({
          id: '2',
          name: 'Fine-tune-old',
          artifact_location: '2',
          lifecycle_stage: 'deleted',
          tags: {},
          created_at: at(2),
          updated_at: at(2),
        });
        await tx.experiments.insert({
          id: '10',
          name: 'eval',
          artifact_location: '10',
          lifecycle_stage: 'active',
          tags: { team: 'b' },
          created_at: at(2),
          updated_at: at(2),
        });
      });
      const search = async (filter: string, stages: ('active' | 'deleted')[] = ['active'], order: string[] = []) =>
        (
          await store.read.experiments.search({
            stages,
            clauses: parseMlflowExperimentFilter(filter),
            order: parseMlflowExperimentOrderBy(order),
            offset: 0,
            limit: 10,
          })
        ).map((e) => e.id);
      assert.deepEqual(await search(''), ['10', '1']);
      assert.deepEqual(await search('', ['active', 'deleted']), ['2', '10', '1'], 'newest first, then id ascending');
      assert.deepEqual(await search('', ['deleted']), ['2']);
      assert.deepEqual(await search("name LIKE 'fine%'", ['active', 'deleted']), ['1']);
      assert.deepEqual(await search("name ILIKE 'fine%'", ['active', 'deleted']), ['2', '1']);
      assert.deepEqual(await search("tags.team = 'b'"), ['10']);
      assert.deepEqual(await search('tags.team IS NULL', ['active', 'deleted']), ['2']);
      assert.deepEqual(await search("experiment_id IN ('1', '2')", ['active', 'deleted']), ['2', '1']);
      assert.deepEqual(await search(`creation_time > ${at(1)}`, ['active', 'deleted']), ['2', '10']);
      assert.deepEqual(await search('', ['active', 'deleted'], ['name']), ['2', '10', '1'], 'names by code point');
      assert.deepEqual(await search('', ['active', 'deleted'], ['creation_time']), ['1', '10', '2'], 'ties broken by id descending, as MLflow does');
      assert.equal(
        await store.transaction((tx) => tx.experiments.update('10', { lifecycle_stage: 'active' }, at(4), 'deleted')),
        false,
        'only from the stage named',
      );
      assert.equal((await store.read.experiments.findById('10'))?.updated_at, at(2));
      assert.equal(await store.transaction((tx) => tx.experiments.update('10', { name: 'evaluation', lifecycle_stage: 'deleted' }, at(5), 'active')), true);
      const e = await store.read.experiments.findById('10');
      assert.deepEqual([e?.name, e?.lifecycle_stage, e?.updated_at], ['evaluation', 'deleted', at(5)]);
      await assert.rejects(
        store.transaction((tx) => tx.experiments.update('10', { name: 'fine-tune' }, at(6))),
        (err: unknown) => (err as { code?: string }).code === 'ALREADY_EXISTS',
      );
    });
  });
}
