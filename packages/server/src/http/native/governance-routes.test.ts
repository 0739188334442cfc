import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { evaluateGates, formatGateReport, type GateEvidence, type PolicyDocument } from '@berth/core';
import { mlflowCaller, openTestApp } from '../../../test-support/app.js';
import type { Store } from '../../store/store.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

const POLICY = `policy: chatbot-promotion
target_alias: champion
gates:
  - { name: accuracy, metric: accuracy, min: 0.90 }
  - { name: safety, metric: safety_score, min: 0.95 }
  - { name: latency, metric: p99_latency_ms, max: 500 }
  - { name: no-regression, metric: accuracy, compare_to: champion, max_drop: 0.01 }
`;

const GOOD = { accuracy: 0.923, safety_score: 0.971, p99_latency_ms: 412 };

describe('governance routes', () => {
  let app: FastifyInstance;
  let store: Store;
  let closeApp: () => Promise<void>;
  let content = 0;

  const as = (actor: string) => ({ 'x-berth-actor': actor });

  async function push(name: string): Promise<number> {
    content += 1;
    const data = `weights ${content}`;
    const put = await app.inject({
      method: 'PUT',
      url: `/api/v1/blobs/${sha(data)}`,
      payload: Buffer.from(data),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.ok(put.statusCode < 300, put.body);
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/models/${name}/versions`,
      payload: { files: [{ path: 'w.bin', size: data.length, sha256: sha(data) }] },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().version;
  }

  async function evaluate(name: string, version: number, metrics: Record<string, number>, extra: Record<string, unknown> = {}) {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/models/${name}/versions/${version}/evaluations`,
      payload: { metrics, source: 'ci', ...extra },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  }

  async function applyPolicy(name: string, yaml: string) {
    return app.inject({ method: 'PUT', url: `/api/v1/policies/${name}`, payload: { yaml } });
  }

  async function promote(name: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
    return app.inject({ method: 'POST', url: `/api/v1/models/${name}/promotions`, payload: body, headers });
  }

  async function aliasOf(name: string, alias: string): Promise<number | null> {
    const res = await app.inject({ method: 'GET', url: `/api/v1/models/${name}/aliases` });
    return res.json().items.find((a: { alias: string }) => a.alias === alias)?.version ?? null;
  }

  async function counts() {
    const n = async (t: 'aliases' | 'alias_history' | 'promotions' | 'policies' | 'evaluations' | 'audit_events') =>
      Number(
        (
          await store.db
            .selectFrom(t)
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      aliases: await n('aliases'),
      history: await n('alias_history'),
      promotions: await n('promotions'),
      policies: await n('policies'),
      evaluations: await n('evaluations'),
      audit: await n('audit_events'),
    };
  }

  /** Bad input: a 4xx naming what was wrong, and nothing changed. */
  async function refused(opts: InjectOptions, status: number, code: string, match?: RegExp) {
    const before = await counts();
    const res = await app.inject(opts);
    assert.equal(res.statusCode, status, res.body);
    const body = res.json();
    assert.equal(body.error.code, code);
    if (match) assert.match(body.error.message, match);
    assert.deepEqual(await counts(), before);
    return body.error;
  }

  before(async () => {
    const t = await openTestApp('berth-governance-');
    app = t.app;
    store = t.store;
    closeApp = t.close;
    const res = await applyPolicy('chatbot-promotion', POLICY);
    assert.equal(res.statusCode, 200, res.body);
  });
  after(async () => closeApp?.());

  it('applies a policy as versions, unchanged when the same document comes again, and lists it', async () => {
    const again = await applyPolicy('chatbot-promotion', `# a comment changes nothing\n${POLICY}`);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().unchanged, true);
    assert.equal(again.json().version, 1);
    assert.match(again.json().digest, /^sha256:[0-9a-f]{64}$/);
    const changed = await applyPolicy('p2', 'policy: p2\ntarget_alias: staging\ngates: []\n');
    assert.equal(changed.json().version, 1);
    const v2 = await applyPolicy('p2', 'policy: p2\ntarget_alias: staging\ngates: []\nrequire_approvals: 1\n');
    assert.equal(v2.json().version, 2);
    assert.equal(v2.json().unchanged, false);
    const old = await app.inject({ method: 'GET', url: '/api/v1/policies/p2?version=1' });
    assert.equal(old.json().document.require_approvals, 0);
    const list = await app.inject({ method: 'GET', url: '/api/v1/policies' });
    assert.deepEqual(
      list.json().items.map((p: { name: string; version: number }) => [p.name, p.version]),
      [
        ['chatbot-promotion', 1],
        ['p2', 2],
      ],
    );
    await refused({ method: 'GET', url: '/api/v1/policies/nope' }, 404, 'NOT_FOUND', /policy "nope" not found/);
  });

  it('refuses a policy with an unknown key, naming the line and the key', async () => {
    const err = await refused(
      {
        method: 'PUT',
        url: '/api/v1/policies/typo',
        payload: { yaml: 'policy: typo\ntarget_alias: champion\ngates:\n  - name: a\n    metric: acc\n    treshold: 0.9\n' },
      },
      400,
      'INVALID_ARGUMENT',
      /line 6: gates\[0\]\.treshold is not a known key/,
    );
    assert.deepEqual(err.details, { line: 6, key: 'gates[0].treshold' });
  });

  it('refuses thresholds of the wrong type, a gate without threshold, and a name that differs from the document', async () => {
    const err = await refused(
      { method: 'PUT', url: '/api/v1/policies/t', payload: { yaml: 'policy: t\ntarget_alias: champion\ngates:\n  - { name: a, metric: acc, min: high }\n' } },
      400,
      'INVALID_ARGUMENT',
      /line 4: gates\[0\]\.min must be a number \(got string "high"\)/,
    );
    assert.equal(err.details.key, 'gates[0].min');
    await refused(
      { method: 'PUT', url: '/api/v1/policies/t', payload: { yaml: 'policy: t\ntarget_alias: champion\ngates:\n  - { name: a, metric: acc }\n' } },
      400,
      'INVALID_ARGUMENT',
      /needs a threshold/,
    );
    await refused({ method: 'PUT', url: '/api/v1/policies/other', payload: { yaml: POLICY } }, 400, 'INVALID_ARGUMENT', /named chatbot-promotion, not other/);
  });

  it('records evaluations, lists them newest first, and refuses bad metrics', async () => {
    const v = await push('evals');
    const first = await evaluate('evals', v, { accuracy: 0.9 }, { dataset: `golden@sha256:${'a'.repeat(64)}`, measured_at: '2026-01-02T03:04:05Z' });
    assert.match(first.id, /^evl_\d+$/);
    assert.equal(first.measured_at, '2026-01-02T03:04:05.000Z');
    assert.equal(first.recorded_by, 'local');
    await evaluate('evals', v, { accuracy: 0.95 });
    const list = await app.inject({ method: 'GET', url: `/api/v1/models/evals/versions/${v}/evaluations?limit=1` });
    assert.equal(list.json().items[0].metrics.accuracy, 0.95);
    const next = await app.inject({ method: 'GET', url: `/api/v1/models/evals/versions/${v}/evaluations?cursor=${list.json().next_cursor}` });
    assert.deepEqual(
      next.json().items.map((e: { id: string }) => e.id),
      [first.id],
    );
    const url = `/api/v1/models/evals/versions/${v}/evaluations`;
    await refused({ method: 'POST', url, payload: { metrics: {} } }, 400, 'INVALID_ARGUMENT');
    await refused({ method: 'POST', url, payload: { metrics: { accuracy: 'high' } } }, 400, 'INVALID_ARGUMENT');
    await refused({ method: 'POST', url, payload: { metrics: { 'run:acc': 1 } } }, 400, 'INVALID_ARGUMENT', /invalid metric name/);
    await refused({ method: 'POST', url, payload: { metrics: { a: 1 }, measured_at: 'yesterday' } }, 400, 'INVALID_ARGUMENT');
    await refused(
      { method: 'POST', url: '/api/v1/models/evals/versions/99/evaluations', payload: { metrics: { a: 1 } } },
      404,
      'NOT_FOUND',
      /evals:99 not found/,
    );
  });

  it('promotes when every gate passes: the alias moves with a promotion id on its event, the report stored', async () => {
    const v1 = await push('chatbot');
    await evaluate('chatbot', v1, { accuracy: 0.918, safety_score: 0.96, p99_latency_ms: 450 });
    const first = await promote('chatbot', { version: v1, policy: 'chatbot-promotion', reason: 'first' });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.json().state, 'passed');
    assert.equal(first.json().previous_version, null);
    assert.match(first.json().report.gates[3].message, /champion is unset/);
    const v2 = await push('chatbot');
    await evaluate('chatbot', v2, GOOD);
    const res = await promote('chatbot', { version: v2, policy: 'chatbot-promotion' });
    assert.equal(res.statusCode, 201, res.body);
    const p = res.json();
    assert.match(p.id, /^prm_[0-9A-Z]{26}$/);
    assert.equal(p.alias, 'champion');
    assert.equal(p.previous_version, v1);
    assert.deepEqual(p.policy.name, 'chatbot-promotion');
    assert.deepEqual(formatGateReport(p.report), [
      '[gate-1] accuracy 0.923 >= 0.90 PASS',
      '[gate-2] safety 0.971 >= 0.95 PASS',
      '[gate-3] p99 latency 412ms <= 500ms PASS',
      '[gate-4] candidate 0.923 vs champion 0.918 (delta +0.005) PASS',
    ]);
    assert.equal(await aliasOf('chatbot', 'champion'), v2);
    const event = await store.db.selectFrom('events').selectAll().where('type', '=', 'alias.moved').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    const data = JSON.parse(event.payload).data;
    assert.equal(data.promotion, p.id);
    assert.equal(data.previous_version, v1);
    assert.equal(data.version, v2);
    const shown = await app.inject({ method: 'GET', url: `/api/v1/promotions/${p.id}` });
    assert.deepEqual(shown.json().report, p.report);
    const list = await app.inject({ method: 'GET', url: '/api/v1/models/chatbot/promotions?limit=1' });
    assert.equal(list.json().items[0].id, p.id);
    const older = await app.inject({ method: 'GET', url: `/api/v1/models/chatbot/promotions?cursor=${list.json().next_cursor}` });
    assert.equal(older.json().items[0].id, first.json().id);
  });

  it('gate evidence gives berth gate check the same report the server stored', async () => {
    const promotions = await app.inject({ method: 'GET', url: '/api/v1/models/chatbot/promotions?state=passed&limit=1' });
    const stored = promotions.json().items[0];
    const res = await app.inject({ method: 'GET', url: `/api/v1/models/chatbot/versions/${stored.version}/gate-evidence?policy=chatbot-promotion` });
    assert.equal(res.statusCode, 200, res.body);
    const { policy, evidence } = res.json() as { policy: { document: PolicyDocument }; evidence: GateEvidence };
    // The alias now holds the candidate itself, so the compare gate compares it with itself.
    const report = evaluateGates(policy.document, evidence);
    assert.deepEqual(
      report.gates.slice(0, 3).map((g) => g.message),
      stored.report.gates.slice(0, 3).map((g: { message: string }) => g.message),
    );
    assert.equal(evidence.aliases.champion?.version, stored.version);
  });

  it('gate evidence for a policy not applied yet: the same evidence as the applied one, nothing stored, bad YAML refused by line', async () => {
    const promotions = await app.inject({ method: 'GET', url: '/api/v1/models/chatbot/promotions?state=passed&limit=1' });
    const { version } = promotions.json().items[0];
    const applied = await app.inject({ method: 'GET', url: `/api/v1/models/chatbot/versions/${version}/gate-evidence?policy=chatbot-promotion` });
    const before = await counts();
    const draft = await app.inject({ method: 'POST', url: `/api/v1/models/chatbot/versions/${version}/gate-evidence`, payload: { yaml: POLICY } });
    assert.equal(draft.statusCode, 200, draft.body);
    assert.deepEqual(draft.json().evidence, applied.json().evidence);
    assert.equal(draft.json().document.policy, 'chatbot-promotion');
    assert.deepEqual(await counts(), before, 'a draft is never stored');
    const err = await refused(
      { method: 'POST', url: `/api/v1/models/chatbot/versions/${version}/gate-evidence`, payload: { yaml: `${POLICY}bogus: 1\n` } },
      400,
      'INVALID_ARGUMENT',
      /bogus/,
    );
    assert.equal(err.details.line, 8);
    await refused({ method: 'POST', url: '/api/v1/models/nope/versions/1/gate-evidence', payload: { yaml: POLICY } }, 404, 'NOT_FOUND');
  });

  it('refuses a promotion whose gate names a mistyped metric: stored as failed, FAILED_PRECONDITION with the gate lines, nothing moved', async () => {
    const typo = await applyPolicy('typo-policy', 'policy: typo-policy\ntarget_alias: champion\ngates:\n  - { name: safety, metric: safety_scor, min: 0.9 }\n');
    assert.equal(typo.statusCode, 200, typo.body);
    const holder = await aliasOf('chatbot', 'champion');
    const v = await push('chatbot');
    await evaluate('chatbot', v, GOOD);
    const before = await counts();
    const res = await promote('chatbot', { version: v, policy: 'typo-policy' });
    assert.equal(res.statusCode, 412, res.body);
    const err = res.json().error;
    assert.equal(err.code, 'FAILED_PRECONDITION');
    assert.match(err.message, /\[gate-1\] safety: no evaluation of metric safety_scor for chatbot:\d+ \(did you mean safety_score\?\) FAIL/);
    assert.equal(err.details.report.passed, false);
    assert.equal(await aliasOf('chatbot', 'champion'), holder);
    const after = await counts();
    assert.equal(after.promotions, before.promotions + 1);
    assert.equal(after.history, before.history);
    const stored = await app.inject({ method: 'GET', url: `/api/v1/promotions/${err.details.promotion}` });
    assert.equal(stored.json().state, 'failed');
  });

  it('refuses a promotion with a failing gate and moves nothing', async () => {
    const holder = await aliasOf('chatbot', 'champion');
    const v = await push('chatbot');
    await evaluate('chatbot', v, { ...GOOD, accuracy: 0.85 });
    const res = await promote('chatbot', { version: v, policy: 'chatbot-promotion' });
    assert.equal(res.statusCode, 412);
    assert.match(res.json().error.message, /\[gate-1\] accuracy 0\.85 >= 0\.90 FAIL/);
    assert.doesNotMatch(res.json().error.message, /gate-2/);
    assert.equal(await aliasOf('chatbot', 'champion'), holder);
  });

  it("refuses a promotion of a version the model does not have (another model's, or none)", async () => {
    const other = await push('other-model');
    const otherVersion = await push('other-model');
    assert.ok(otherVersion > other);
    await refused(
      { method: 'POST', url: '/api/v1/models/evals/promotions', payload: { version: otherVersion, policy: 'chatbot-promotion' } },
      404,
      'NOT_FOUND',
      /evals:2 not found/,
    );
    await refused({ method: 'POST', url: '/api/v1/models/nope/promotions', payload: { version: 1, policy: 'chatbot-promotion' } }, 404, 'NOT_FOUND');
    await refused({ method: 'POST', url: '/api/v1/models/chatbot/promotions', payload: { version: 1 } }, 400, 'INVALID_ARGUMENT', /name the alias/);
    await refused(
      { method: 'POST', url: '/api/v1/models/chatbot/promotions', payload: { version: 1, alias: 'champion' } },
      400,
      'INVALID_ARGUMENT',
      /no policy is bound/,
    );
    await refused(
      { method: 'POST', url: '/api/v1/models/chatbot/promotions', payload: { version: 1, policy: 'missing' } },
      404,
      'NOT_FOUND',
      /policy "missing"/,
    );
    await refused(
      { method: 'POST', url: '/api/v1/models/chatbot/promotions', payload: { version: '1', policy: 'chatbot-promotion' } },
      400,
      'INVALID_ARGUMENT',
    );
  });

  it('two promotions racing for the same alias: exactly one wins, the other gets CONFLICT naming the holder', async () => {
    const holder = (await aliasOf('chatbot', 'champion')) as number;
    const a = await push('chatbot');
    const b = await push('chatbot');
    await evaluate('chatbot', a, GOOD);
    await evaluate('chatbot', b, GOOD);
    const [ra, rb] = await Promise.all([
      promote('chatbot', { version: a, policy: 'chatbot-promotion', expect: holder }),
      promote('chatbot', { version: b, policy: 'chatbot-promotion', expect: holder }),
    ]);
    const codes = [ra.statusCode, rb.statusCode].sort();
    assert.deepEqual(codes, [201, 409]);
    const [won, lost] = ra.statusCode === 201 ? [ra, rb] : [rb, ra];
    const winner = won.json().version;
    assert.equal(lost.json().error.code, 'CONFLICT');
    assert.match(lost.json().error.message, new RegExp(`champion is at ${winner} now`));
    assert.deepEqual(lost.json().error.details, { alias: 'champion', expected: holder, current: winner });
    assert.equal(await aliasOf('chatbot', 'champion'), winner);
  });

  it('approvals: N distinct approvers, never the requester nor twice the same, then the alias moves', async () => {
    const ok = await applyPolicy(
      'two-eyes',
      'policy: two-eyes\ntarget_alias: production\nrequire_approvals: 2\ngates:\n  - { name: accuracy, metric: accuracy, min: 0.9 }\n',
    );
    assert.equal(ok.statusCode, 200, ok.body);
    const v = await push('approved');
    await evaluate('approved', v, GOOD);
    const res = await promote('approved', { version: v, policy: 'two-eyes' }, as('alice'));
    assert.equal(res.statusCode, 202, res.body);
    const id = res.json().id;
    assert.equal(res.json().state, 'pending');
    assert.equal(await aliasOf('approved', 'production'), null);
    const url = `/api/v1/promotions/${id}/approve`;
    await refused({ method: 'POST', url, headers: as('alice'), payload: {} }, 403, 'PERMISSION_DENIED', /requested promotion/);
    const first = await app.inject({ method: 'POST', url, headers: as('bob'), payload: { reason: 'reviewed eval report' } });
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().state, 'pending');
    assert.deepEqual(
      first.json().approvals.map((a: { by: string; reason: string }) => [a.by, a.reason]),
      [['self-declared:bob', 'reviewed eval report']],
    );
    await refused({ method: 'POST', url, headers: as('bob'), payload: {} }, 409, 'ALREADY_EXISTS', /already approved/);
    const second = await app.inject({ method: 'POST', url, headers: as('carol'), payload: {} });
    assert.equal(second.statusCode, 200, second.body);
    assert.equal(second.json().state, 'passed');
    assert.equal(await aliasOf('approved', 'production'), v);
    const audit = await store.db.selectFrom('audit_events').select(['action', 'actor']).where('subject', '=', id).orderBy('seq').execute();
    assert.deepEqual(
      audit.map((e) => [e.action, e.actor]),
      [
        ['promotion.pending', 'self-declared:alice'],
        ['promotion.approved', 'self-declared:bob'],
        ['promotion.approved', 'self-declared:carol'],
        ['promotion.passed', 'self-declared:carol'],
      ],
    );
    await refused({ method: 'POST', url, headers: as('dave'), payload: {} }, 412, 'FAILED_PRECONDITION', /is passed, not pending/);
  });

  it('a stale approval is refused and marks the promotion stale; reject ends a pending promotion', async () => {
    const v1 = await push('stale');
    const v2 = await push('stale');
    await evaluate('stale', v2, GOOD);
    const pending = await promote('stale', { version: v2, policy: 'two-eyes' }, as('alice'));
    assert.equal(pending.statusCode, 202);
    const id = pending.json().id;
    const moved = await app.inject({ method: 'PUT', url: '/api/v1/models/stale/aliases/production', payload: { version: v1, reason: 'hotfix' } });
    assert.equal(moved.statusCode, 200, moved.body);
    const res = await app.inject({ method: 'POST', url: `/api/v1/promotions/${id}/approve`, headers: as('bob'), payload: {} });
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json().error.code, 'CONFLICT');
    assert.match(res.json().error.message, new RegExp(`production is at ${v1} now.*stale`));
    const shown = await app.inject({ method: 'GET', url: `/api/v1/promotions/${id}` });
    assert.equal(shown.json().state, 'stale');
    assert.deepEqual(shown.json().approvals, []);
    assert.equal(await aliasOf('stale', 'production'), v1);

    const again = await promote('stale', { version: v2, policy: 'two-eyes' }, as('alice'));
    const rejected = await app.inject({
      method: 'POST',
      url: `/api/v1/promotions/${again.json().id}/reject`,
      headers: as('bob'),
      payload: { reason: 'not now' },
    });
    assert.equal(rejected.statusCode, 200, rejected.body);
    assert.equal(rejected.json().state, 'rejected');
    await refused({ method: 'POST', url: `/api/v1/promotions/${again.json().id}/approve`, headers: as('carol'), payload: {} }, 412, 'FAILED_PRECONDITION');
    await refused({ method: 'POST', url: `/api/v1/promotions/${again.json().id}/reject`, payload: { why: 'x' } }, 400, 'INVALID_ARGUMENT', /unknown field why/);
    await refused({ method: 'GET', url: '/api/v1/promotions/prm_nope' }, 404, 'NOT_FOUND');
  });

  it('rolls an alias back to its previous holder from alias history, with a reason', async () => {
    const v1 = await push('rb');
    const v2 = await push('rb');
    await refused({ method: 'POST', url: '/api/v1/models/rb/aliases/staging/rollback', payload: { reason: 'x' } }, 412, 'FAILED_PRECONDITION', /not set/);
    for (const v of [v1, v2])
      assert.equal((await app.inject({ method: 'PUT', url: '/api/v1/models/rb/aliases/staging', payload: { version: v } })).statusCode, 200);
    await refused({ method: 'POST', url: '/api/v1/models/rb/aliases/staging/rollback', payload: {} }, 400, 'INVALID_ARGUMENT');
    await refused(
      { method: 'POST', url: '/api/v1/models/rb/aliases/staging/rollback', payload: { reason: 'x', expect: v1 } },
      409,
      'CONFLICT',
      new RegExp(`staging is at ${v2} now`),
    );
    const res = await app.inject({ method: 'POST', url: '/api/v1/models/rb/aliases/staging/rollback', payload: { reason: 'quality regression' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().kind, 'rollback');
    assert.equal(res.json().version, v1);
    assert.equal(res.json().previous_version, v2);
    assert.equal(await aliasOf('rb', 'staging'), v1);
    const history = await app.inject({ method: 'GET', url: '/api/v1/models/rb/aliases/staging/history' });
    assert.equal(history.json().items.at(-1).reason, 'quality regression');
    const first = await push('rb-first');
    assert.equal((await app.inject({ method: 'PUT', url: '/api/v1/models/rb-first/aliases/staging', payload: { version: first } })).statusCode, 200);
    await refused(
      { method: 'POST', url: '/api/v1/models/rb-first/aliases/staging/rollback', payload: { reason: 'x' } },
      412,
      'FAILED_PRECONDITION',
      /no holder before/,
    );
  });

  it('a policy-bound alias moves only through a promotion, through the native set and batch too', async () => {
    const bound = await applyPolicy(
      'bound',
      'policy: bound\ntarget_alias: champion\nmodels: [guarded]\ngates:\n  - { name: accuracy, metric: accuracy, min: 0.9 }\n',
    );
    assert.equal(bound.statusCode, 200, bound.body);
    await refused(
      { method: 'PUT', url: '/api/v1/policies/rival', payload: { yaml: 'policy: rival\ntarget_alias: champion\nmodels: ["guard*"]\ngates: []\n' } },
      409,
      'CONFLICT',
      /policy bound already binds champion/,
    );
    const bad = await push('guarded');
    const good = await push('guarded');
    await evaluate('guarded', bad, { accuracy: 0.5 });
    await evaluate('guarded', good, { accuracy: 0.95 });
    const before = await counts();
    const refusedSet = await app.inject({ method: 'PUT', url: '/api/v1/models/guarded/aliases/champion', payload: { version: bad } });
    assert.equal(refusedSet.statusCode, 412, refusedSet.body);
    assert.match(refusedSet.json().error.message, /\[gate-1\] accuracy 0\.50 >= 0\.90 FAIL/);
    assert.equal(await aliasOf('guarded', 'champion'), null);
    assert.equal((await counts()).history, before.history);
    const ok = await app.inject({ method: 'PUT', url: '/api/v1/models/guarded/aliases/champion', payload: { version: good } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().version, good);
    const promoted = await app.inject({ method: 'GET', url: '/api/v1/models/guarded/promotions?state=passed' });
    assert.equal(promoted.json().items[0].version, good);
    const mlflow = mlflowCaller(() => app);
    const viaMlflow = await mlflow('POST', '/registered-models/alias', { name: 'guarded', alias: 'champion', version: String(bad) });
    assert.equal(viaMlflow.status, 409);
    assert.equal(viaMlflow.body.error_code, 'RESOURCE_CONFLICT');
    assert.match(viaMlflow.body.message, /\[gate-1\] accuracy 0\.50 >= 0\.90 FAIL/);
    assert.equal(await aliasOf('guarded', 'champion'), good);
    await refused(
      {
        method: 'POST',
        url: '/api/v1/models/guarded/aliases:batch',
        payload: {
          moves: [
            { alias: 'champion', version: bad },
            { alias: 'challenger', version: good },
          ],
        },
      },
      412,
      'FAILED_PRECONDITION',
      /bound to policy bound: it moves only through a promotion/,
    );
    await refused({ method: 'DELETE', url: '/api/v1/models/guarded/aliases/champion' }, 412, 'FAILED_PRECONDITION', /delete touching it is refused/);
    await refused(
      { method: 'POST', url: '/api/v1/models/guarded/promotions', payload: { version: good, policy: 'chatbot-promotion' } },
      412,
      'FAILED_PRECONDITION',
      /bound to policy bound/,
    );
  });

  it('every governance route is in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    for (const path of [
      '/api/v1/models/{name}/versions/{version}/evaluations',
      '/api/v1/models/{name}/versions/{version}/gate-evidence',
      '/api/v1/policies',
      '/api/v1/policies/{name}',
      '/api/v1/models/{name}/promotions',
      '/api/v1/promotions/{id}',
      '/api/v1/promotions/{id}/approve',
      '/api/v1/promotions/{id}/reject',
      '/api/v1/models/{name}/aliases/{alias}/rollback',
    ]) {
      assert.ok(doc.paths[path], `${path} missing from OpenAPI`);
    }
  });
});
