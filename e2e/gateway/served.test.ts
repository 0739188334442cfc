import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent, ServedAt, ServedReport } from '@berth/core';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';
import { Load, applyDeployment, chat, pushVersions, sleep, startGateway, startRegistry, waitUntil, type GatewayProcess, type Registry } from './support.js';

/** The middle of a report's window: a time it certainly covers. */
const inside = (r: ServedReport) => new Date((Date.parse(r.from) + Date.parse(r.to)) / 2).toISOString();

/** `berth at <time> --served <deployment>`: what the gateway actually ran, from its reports, before and after a canary moved the mix. */
describe('berth at --served, end to end', () => {
  let reg: Registry;
  let gw: GatewayProcess;
  let up: FakeOpenAI;

  before(async () => {
    reg = await startRegistry('berth-e2e-served-');
    up = await startFakeOpenAI('up');
    gw = await startGateway(reg.url, { reportInterval: '500ms' });
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await reg?.stop();
  });

  it('reports which version took which share, when', async () => {
    await pushVersions(reg.client, 'sv-m', 2);
    await reg.client.setAlias('sv-m', 'champion', 1);
    const beforeDeployment = new Date(Date.now() - 60_000).toISOString();
    await applyDeployment(
      reg,
      `deployment: served-bot
model: sv-m
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 50, pause: 60s}, {weight: 100}]
upstreams:
  - {versions: "*", url: ${up.url}}
analysis_interval: 200ms
`,
    );
    await waitUntil('served-bot routed', async () => (await chat(gw.url, 'served-bot')).status === 200);
    const load = new Load([gw.url], 'served-bot', 4);
    let allStable: ServedReport;
    let canary: ServedReport;
    try {
      const report = (pred: (r: ServedReport) => boolean) => async () => (await reg.client.deploymentStatus('served-bot')).reports.find(pred);
      allStable = await waitUntil(
        'a report of version 1 alone',
        report((r) => r.versions.length === 1 && r.versions[0]!.version === 1 && r.versions[0]!.requests > 0),
      );
      await reg.client.setAlias('sv-m', 'challenger', 2);
      const atFifty = (r: ServedReport) =>
        r.versions.some((v) => v.version === 2 && v.weight === 50 && v.requests > 0) && r.versions.some((v) => v.version === 1 && v.weight === 50);
      const first = await waitUntil('a report of the canary at 50%', report(atFifty));
      // The first such window may have begun before the switch; a later one is the 50/50 mix throughout.
      canary = await waitUntil(
        'a report of the canary at 50% for its whole window',
        report((r) => atFifty(r) && Date.parse(r.from) >= Date.parse(first.to)),
      );
      // A few more windows of the same mix: reported, but not audited again.
      await sleep(2000);
    } finally {
      await load.stop();
    }
    const end = Date.now();
    assert.deepEqual(load.failures(), []);

    const then = JSON.parse(await reg.ok(['at', inside(allStable), '--served', 'served-bot', '--json'])) as ServedAt;
    assert.deepEqual(
      then.versions.map((v) => [v.version, v.share, v.weight, v.shadow]),
      [[1, 1, 100, false]],
    );
    assert.deepEqual(
      then.reports.map((r) => r.gateway),
      [gw.id],
    );

    const during = JSON.parse(await reg.ok(['at', inside(canary), '--served', 'served-bot', '--json'])) as ServedAt;
    const v2 = during.versions.find((v) => v.version === 2);
    const v1 = during.versions.find((v) => v.version === 1);
    assert.ok(v1 && v2, JSON.stringify(during));
    assert.deepEqual([v1.weight, v2.weight], [50, 50]);
    assert.ok(v2.share > 0.15 && v2.share < 0.85, `the candidate's share of requests: ${v2.share}`);
    assert.equal(
      v1.requests + v2.requests,
      canary.versions.reduce((n, v) => n + v.requests, 0),
    );

    const text = await reg.ok(['at', inside(canary), '--served', 'served-bot']);
    assert.match(text, /served-bot/);
    assert.match(text, /^2\s+\d+(\.\d)?%/m);
    assert.match(text, new RegExp(gw.id));

    const nothing = JSON.parse(await reg.ok(['at', beforeDeployment, '--served', 'served-bot', '--json'])) as ServedAt;
    assert.deepEqual([nothing.reports, nothing.versions], [[], []]);
    const unknown = await reg.cli(['at', inside(canary), '--served', 'nobody-bot']);
    assert.equal(unknown.code, 3, unknown.stderr);

    // The audit trail holds what ran: the change of mix is recorded, not every report.
    const rows = JSON.parse(await reg.ok(['audit', '--model', 'sv-m', '--json'])) as AuditEvent[];
    const served = rows.filter((r) => r.action === 'deployment.served' && r.subject === 'served-bot');
    assert.ok(served.length >= 1, 'a change of mix is audited');
    assert.ok(
      served.some((r) => Date.parse(r.at) >= Date.parse(allStable.to)),
      'the canary mix is audited',
    );
    const reports = Math.floor((end - Date.parse(allStable.from)) / 500);
    assert.ok(served.length <= reports / 2, `${served.length} audit rows for about ${reports} reports`);
  });
});
