import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const CANARY = `deployment: chatbot
model: cs-bot
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 10, pause: 1s}, {weight: 100}]
upstreams:
  - {versions: "*", url: "http://127.0.0.1:9/v1"}
`;

/** A single-strategy deployment of `model` named `name`. */
const single = (name: string, model: string) =>
  `deployment: ${name}\nmodel: ${model}\nstrategy: single\nstable: champion\nupstreams: [{versions: "*", url: "http://127.0.0.1:9/v1"}]\n`;

describe('deployment routes', () => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  const local = localActor();
  let content = 0;
  const inject = (opts: InjectOptions) => t.app.inject(opts);
  const as = (who: string) => bearer(tokens[who] as string);
  const apply = (yaml: unknown, who = 'approver') => inject({ method: 'POST', url: '/api/v1/deployments', headers: as(who), payload: { yaml } });
  const decide = (body: Record<string, unknown>, who = 'approver', name = 'chatbot') =>
    inject({ method: 'POST', url: `/api/v1/deployments/${name}/rollout`, headers: as(who), payload: body });
  const report = (body: Record<string, unknown>, who = 'editor', name = 'chatbot') =>
    inject({ method: 'POST', url: `/api/v1/deployments/${name}/served`, headers: as(who), payload: body });
  const get = (url: string, who = 'viewer') => inject({ method: 'GET', url: `/api/v1${url}`, headers: as(who) });

  async function push(name: string, opts: { external?: boolean; kind?: string } = {}): Promise<number> {
    if (opts.external) return (await t.registry.versions.create(local, name, { files: [], external_uri: 's3://bucket/weights' })).version;
    content += 1;
    const data = Buffer.from(`weights ${content}`);
    const h = createHash('sha256').update(data).digest('hex');
    await t.registry.blobs.put(local, h, Readable.from([data]));
    return (await t.registry.versions.create(local, name, { files: [{ path: 'w.bin', size: data.length, sha256: h }] })).version;
  }

  async function auditHead(): Promise<number> {
    return (await t.store.read.audit.head()).seq;
  }

  before(async () => {
    t = await openTestApp('berth-deployments-', { auth: true });
    for (const role of ['viewer', 'editor', 'approver'] as const) tokens[role] = (await t.registry.tokens.create(local, { name: role, role })).token;
    for (let i = 0; i < 3; i++) await push('cs-bot');
    await t.registry.aliases.set(local, 'cs-bot', 'champion', { version: 1 });
    await t.registry.aliases.set(local, 'cs-bot', 'challenger', { version: 2 });
  });
  after(async () => t?.close());

  it('applies, gets and lists deployments in the shapes the SDK reads', async () => {
    const r = await apply(CANARY);
    assert.equal(r.statusCode, 200, r.body);
    const d = r.json();
    assert.deepEqual([d.name, d.version, d.model, d.unchanged, d.created_by, d.yaml], ['chatbot', 1, 'cs-bot', false, 'approver', CANARY]);
    assert.deepEqual(d.document.steps, [
      { weight: 10, pause_ms: 1000 },
      { weight: 100, pause_ms: 0 },
    ]);
    assert.match(d.created_at, /^\d{4}-\d\d-\d\dT/);
    assert.equal((await apply(CANARY)).json().unchanged, true);
    const one = await get('/deployments/chatbot');
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(one.json().digest, d.digest);
    assert.equal((await get('/deployments/chatbot?version=1')).json().version, 1);
    const list = await get('/deployments?limit=10');
    assert.deepEqual(
      list.json().items.map((x: { name: string }) => x.name),
      ['chatbot'],
    );
    assert.equal(list.json().next_cursor, null);
  });

  it('answers the routing snapshot with the event head, aliases and versions', async () => {
    const r = await get('/deployments/chatbot/routing');
    assert.equal(r.statusCode, 200, r.body);
    const s = r.json();
    assert.equal(s.seq, await auditHead());
    assert.deepEqual(s.aliases, { champion: 1, challenger: 2 });
    assert.deepEqual(
      s.versions.map((v: { version: number; kind: string; content_addressed: boolean; files: unknown[] }) => [
        v.version,
        v.kind,
        v.content_addressed,
        v.files.length,
      ]),
      [
        [1, 'model', true, 1],
        [2, 'model', true, 1],
      ],
    );
    assert.equal(s.deployment.name, 'chatbot');
    assert.equal(s.rollout, null);
  });

  it('lets an approver decide and an editor report, but not the other way round', async () => {
    const start = { decision: 'start', kind: 'canary', candidate_version: 2, stable_version: 1, gateway: 'gw-1' };
    for (const who of ['viewer', 'editor']) {
      const refused = await decide(start, who);
      assert.equal(refused.statusCode, 403, refused.body);
      assert.match(refused.json().error.message, /approver/);
    }
    const r = await decide(start);
    assert.equal(r.statusCode, 200, r.body);
    const rollout = r.json();
    assert.deepEqual([rollout.kind, rollout.state, rollout.step, rollout.weight, rollout.last_decision.gateway], ['canary', 'progressing', 0, 10, 'gw-1']);
    assert.match(rollout.id, /^rol_/);
    const again = await decide({ ...start, gateway: 'gw-2' });
    assert.equal(again.statusCode, 409, again.body);
    assert.equal(again.json().error.code, 'CONFLICT');
    assert.equal(again.json().error.details.rollout.id, rollout.id);
    const stale = await decide({ decision: 'advance', rollout_id: rollout.id, expect_step: 3, candidate_version: 2, gateway: 'gw-1' });
    assert.equal(stale.statusCode, 409, stale.body);
    assert.equal(stale.json().error.details.rollout.step, 0);
    const advanced = await decide({
      decision: 'advance',
      rollout_id: rollout.id,
      expect_step: 0,
      candidate_version: 2,
      gateway: 'gw-1',
      evidence: { samples: 40 },
    });
    assert.equal(advanced.statusCode, 200, advanced.body);
    assert.deepEqual([advanced.json().step, advanced.json().weight, advanced.json().last_decision.evidence], [1, 100, { samples: 40 }]);

    const now = Date.now();
    const body = {
      gateway: 'gw-1',
      from: new Date(now - 10_000).toISOString(),
      to: new Date(now).toISOString(),
      versions: [
        {
          version: 1,
          weight: 90,
          shadow: false,
          requests: 9,
          errors: 0,
          p50_ms: 3,
          p99_ms: 9,
          tokens_in: 10,
          tokens_out: 20,
          judged: 0,
          below: 0,
          mean_score: null,
        },
        {
          version: 2,
          weight: 10,
          shadow: false,
          requests: 1,
          errors: 1,
          p50_ms: 5,
          p99_ms: 5,
          tokens_in: 1,
          tokens_out: 0,
          judged: 1,
          below: 1,
          mean_score: 0.2,
        },
      ],
    };
    assert.equal((await report(body, 'viewer')).statusCode, 403);
    const served = await report(body);
    assert.equal(served.statusCode, 200, served.body);
    assert.deepEqual([served.json().deployment, served.json().gateway, served.json().shadow, served.json().versions.length], ['chatbot', 'gw-1', null, 2]);
    const at = await get(`/deployments/chatbot/served?at=${encodeURIComponent(new Date(now - 5000).toISOString())}`);
    assert.equal(at.statusCode, 200, at.body);
    assert.deepEqual(at.json().versions, [
      { version: 1, requests: 9, share: 0.9, weight: 90, shadow: false },
      { version: 2, requests: 1, share: 0.1, weight: 10, shadow: false },
    ]);
    const status = await get('/deployments/chatbot/status');
    assert.equal(status.statusCode, 200, status.body);
    assert.deepEqual(
      [status.json().aliases, status.json().rollout.step, status.json().reports.map((x: { gateway: string }) => x.gateway)],
      [{ champion: 1, challenger: 2 }, 1, ['gw-1']],
    );
    const events = await get('/events?model=cs-bot&types=deployment.*');
    assert.equal(events.statusCode, 200, events.body);
    assert.deepEqual(
      events.json().items.map((e: { type: string; subject: string }) => [e.type, e.subject]),
      [
        ['deployment.applied', 'chatbot'],
        ['deployment.rollout_started', 'chatbot'],
        ['deployment.step_advanced', 'chatbot'],
        ['deployment.served', 'chatbot'],
      ],
    );
    const step = events.json().items[2];
    assert.deepEqual([step.data.deployment, step.data.decision, step.data.rollout.step, step.data.evidence], ['chatbot', 'advance', 1, { samples: 40 }]);
  });

  it('refuses bad input with a clear 4xx and changes nothing', async () => {
    await push('ext-bot');
    await push('ext-bot', { external: true });
    await t.registry.aliases.set(local, 'ext-bot', 'champion', { version: 2 });
    await t.registry.models.create(local, { name: 'bun-bot', kind: 'bundle' });
    const base = await t.registry.versions.get('cs-bot', 1);
    const plain = await t.registry.versions.create(local, 'bun-bot', {
      files: base.files ?? (await t.registry.versions.get('cs-bot', 1, { files: true })).files ?? [],
      dependencies: [{ model: 'cs-bot', version: 1, digest: base.digest }],
    });
    await t.registry.aliases.set(local, 'bun-bot', 'champion', { version: plain.version });
    const head = await auditHead();
    const cases: Array<[string, Promise<{ statusCode: number; body: string }>, number, RegExp]> = [
      ['unknown model', apply(CANARY.replace('model: cs-bot', 'model: nobody')), 404, /model "nobody" not found/],
      ['missing upstream version', apply(CANARY.replace('versions: "*"', 'versions: [1, 2, 99]')), 404, /cs-bot:99 does not exist/],
      ['unset alias', apply(CANARY.replace('stable: champion', 'stable: production')), 412, /cs-bot@production is not set/],
      ['external version', apply(single('ext', 'ext-bot')), 412, /external version.*unpinned/s],
      ['non-bundle version', apply(single('bun', 'bun-bot')), 412, /bun-bot:\d+ is not a bundle version/],
      ['bad yaml', apply('deployment: chatbot\nmodel: cs-bot\nstrategy: sideways\n'), 400, /deployment line 3/],
      ['yaml not a string', apply(42), 400, /yaml/],
      [
        'extra body field',
        inject({ method: 'POST', url: '/api/v1/deployments', headers: as('approver'), payload: { yaml: CANARY, force: true } }),
        400,
        /force/,
      ],
      ['apply by an editor', apply(CANARY, 'editor'), 403, /approver/],
      ['decision without kind', decide({ decision: 'start', candidate_version: 2, gateway: 'gw-1' }), 400, /start needs kind/],
      ['decision unknown', decide({ decision: 'promote', candidate_version: 2, gateway: 'gw-1' }), 400, /decision/],
      [
        'decision on an unknown deployment',
        decide({ decision: 'start', kind: 'canary', candidate_version: 2, gateway: 'g' }, 'approver', 'nope'),
        404,
        /deployment "nope"/,
      ],
      ['decision of a missing version', decide({ decision: 'start', kind: 'bake', candidate_version: 3, gateway: 'g' }), 412, /has no bake/],
      ['report with from after to', report({ gateway: 'g', from: '2026-03-01T00:00:10Z', to: '2026-03-01T00:00:00Z', versions: [] }), 400, /must be before to/],
      ['report in the future', report({ gateway: 'g', from: new Date().toISOString(), to: '2999-01-01T00:00:00Z', versions: [] }), 400, /in the future/],
      ['report without gateway', report({ from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:10Z', versions: [] }), 400, /gateway/],
      [
        'report with a negative count',
        report({
          gateway: 'g',
          from: '2026-03-01T00:00:00Z',
          to: '2026-03-01T00:00:10Z',
          versions: [
            {
              version: 1,
              weight: 100,
              shadow: false,
              requests: -1,
              errors: 0,
              p50_ms: null,
              p99_ms: null,
              tokens_in: 0,
              tokens_out: 0,
              judged: 0,
              below: 0,
              mean_score: null,
            },
          ],
        }),
        400,
        /requests/,
      ],
      ['served-at without at', get('/deployments/chatbot/served'), 400, /at/],
      ['served-at with a bad time', get('/deployments/chatbot/served?at=soon'), 400, /invalid at/],
      ['served-at of a deployment never applied', get('/deployments/never/served?at=2026-03-01T00:00:00Z'), 404, /deployment "never"/],
      ['bad name', get('/deployments/bad%20name'), 400, /invalid deployment name/],
      ['unknown version', get('/deployments/chatbot?version=9'), 404, /no version 9/],
      ['status of an unknown deployment', get('/deployments/nope/status'), 404, /deployment "nope"/],
      ['routing of an unknown deployment', get('/deployments/nope/routing'), 404, /deployment "nope"/],
      ['delete by an editor', inject({ method: 'DELETE', url: '/api/v1/deployments/chatbot', headers: as('editor') }), 403, /approver/],
      ['delete of an unknown deployment', inject({ method: 'DELETE', url: '/api/v1/deployments/nope', headers: as('approver') }), 404, /deployment "nope"/],
    ];
    for (const [what, pending, status, match] of cases) {
      const r = await pending;
      assert.equal(r.statusCode, status, `${what}: ${r.body}`);
      const err = JSON.parse(r.body).error;
      assert.match(err.message, match, what);
    }
    assert.equal(await auditHead(), head, 'no refusal recorded anything');
    assert.equal((await get('/deployments')).json().items.length, 1);
  });

  it('deletes a deployment: gateways stop finding it, its served reports still answer', async () => {
    const r = await inject({ method: 'DELETE', url: '/api/v1/deployments/chatbot?reason=retired', headers: as('approver') });
    assert.equal(r.statusCode, 204, r.body);
    assert.equal((await get('/deployments/chatbot')).statusCode, 404);
    assert.equal((await get('/deployments/chatbot/routing')).statusCode, 404);
    const at = await get(`/deployments/chatbot/served?at=${encodeURIComponent(new Date(Date.now() - 5000).toISOString())}`);
    assert.equal(at.statusCode, 200, at.body);
    assert.equal(at.json().reports.length, 1);
  });
});
