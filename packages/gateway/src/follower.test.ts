import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call, chat, startWorld, waitFor, type World } from '../test-support/world.js';

const worlds: World[] = [];
async function world(...args: Parameters<typeof startWorld>): Promise<World> {
  const w = await startWorld(...args);
  worlds.push(w);
  return w;
}
after(() => Promise.all(worlds.map((w) => w.close())));

async function status(w: World) {
  return (await fetch(`${w.gw.url}/status`)).json() as Promise<{
    registry_connected: boolean;
    deployments: Array<{ name: string; weights: Record<string, number>; refused: Record<string, string>; seq: number }>;
    control: unknown;
  }>;
}

describe('gateway following the registry', () => {
  it('finishes every request in flight on its old version and routes new ones to the new holder when the alias moves', async () => {
    const w = await world({}, [{ latencyMs: 300 }]);
    const inFlight = Array.from({ length: 20 }, () => call(w.gw, '/v1/chat/completions', chat('chatbot')));
    await waitFor('the requests to reach the upstream', () => (w.ups[0]?.count ?? 0) === 20);
    w.registry.setAlias('cs-bot', 'champion', 2);
    await waitFor('the swap', () => w.gw.view.get('chatbot')?.weights.get(2) === 100);
    const answers = await Promise.all(inFlight);
    assert.deepEqual(
      answers.map((a) => [a.status, a.headers.get('x-berth-version')]),
      Array.from({ length: 20 }, () => [200, 'cs-bot:1']),
    );
    const next = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(next.headers.get('x-berth-version'), 'cs-bot:2');
  });

  it('loses no request while the alias moves back and forth under load', async () => {
    const w = await world({}, [{ latencyMs: 5 }, { latencyMs: 5 }]);
    let stop = false;
    const failures: number[] = [];
    let done = 0;
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
        if (a.status !== 200) failures.push(a.status);
        done++;
      }
    });
    for (let i = 0; i < 20; i++) {
      w.registry.setAlias('cs-bot', 'champion', i % 2 === 0 ? 2 : 1);
      await new Promise((r) => setTimeout(r, 25));
    }
    stop = true;
    await Promise.all(load);
    assert.deepEqual(failures, []);
    assert.ok(done > 50, `${done} requests`);
  });

  it('gives no traffic to a version whose digest does not verify and says why in /status', async () => {
    const w = await world({ strategy: 'canary', candidate: 'challenger' }, [], (r) => {
      r.addVersion('cs-bot', 2, { 'weights.bin': 'two' }, { digest: `sha256:${'0'.repeat(64)}` });
    });
    w.registry.setRollout('chatbot', { kind: 'canary', stable_version: 1, candidate_version: 2, weight: 100 });
    await waitFor('the rollout', async () => (await status(w)).deployments[0]?.refused['2'] !== undefined);
    const s = await status(w);
    assert.deepEqual(s.deployments[0]?.weights, { 1: 100 });
    assert.match(s.deployments[0]?.refused['2'] as string, /^cs-bot:2 does not verify: its files hash to sha256:[0-9a-f]{64}, not its digest sha256:0{64}$/);
    for (let i = 0; i < 10; i++) assert.equal((await call(w.gw, '/v1/chat/completions', chat('chatbot'))).headers.get('x-berth-version'), 'cs-bot:1');
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('cs-bot:2'))).status, 404, 'a refused version is not routable by number either');
    assert.equal(w.ups[1]?.count, 0);
  });

  it('answers 503 no_routable_version when the only version is refused', async () => {
    const w = await world({}, [], (r) => {
      r.addVersion('cs-bot', 1, { 'weights.bin': 'one' }, { contentAddressed: false });
    });
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(a.status, 503);
    assert.equal(a.json.error.code, 'no_routable_version');
    assert.match(a.json.error.message, /cs-bot:1 is not content-addressed/);
  });

  it('keeps serving while the registry is away and catches up when it is back', async () => {
    const w = await world();
    await w.registry.pause();
    await waitFor('the gateway to notice', async () => !(await status(w)).registry_connected);
    const a = await call(w.gw, '/v1/chat/completions', chat('chatbot'));
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-berth-version'), 'cs-bot:1');
    assert.match(await (await fetch(`${w.gw.url}/metrics`)).text(), /berth_gateway_registry_connected 0/);
    w.registry.setAlias('cs-bot', 'champion', 2);
    await w.registry.resume();
    await waitFor('the catch-up', () => w.gw.view.get('chatbot')?.weights.get(2) === 100, 8000);
    await waitFor('connected again', async () => (await status(w)).registry_connected);
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('chatbot'))).headers.get('x-berth-version'), 'cs-bot:2');
  });

  it('keeps reading a deployment that could not be read at start until it can', async () => {
    const w = await world({}, [], (r) => {
      r.apply({ deployment: 'late', model: 'cs-bot', upstreams: [] });
      r.unavailable.add('late');
    });
    assert.equal(w.gw.view.get('late'), undefined);
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('chatbot'))).status, 200, 'the others are served meanwhile');
    w.registry.unavailable.delete('late');
    await waitFor('the retry', () => w.gw.view.get('late') !== undefined, 5000);
  });

  it('serves a deployment applied later and stops serving one deleted', async () => {
    const w = await world();
    w.registry.apply({ deployment: 'second', model: 'cs-bot', stable: 'challenger', upstreams: w.gw.view.get('chatbot')?.document.upstreams ?? [] });
    await waitFor('the new deployment', () => w.gw.view.get('second') !== undefined);
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('second'))).headers.get('x-berth-version'), 'cs-bot:2');
    const models = (await (await fetch(`${w.gw.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.deepEqual(models.data.map((m) => m.id).sort(), ['chatbot', 'cs-bot@challenger', 'cs-bot@champion', 'second']);
    w.registry.remove('second');
    await waitFor('the removal', () => w.gw.view.get('second') === undefined);
    assert.equal((await call(w.gw, '/v1/chat/completions', chat('second'))).status, 404);
  });

  it('tells view listeners what each swap replaced', async () => {
    const w = await world();
    const seen: Array<[string, number | undefined, number | undefined]> = [];
    w.gw.view.onChange((name, now, before) => seen.push([name, now?.aliases.champion ?? undefined, before?.aliases.champion ?? undefined]));
    w.registry.setAlias('cs-bot', 'champion', 2);
    await waitFor('the change', () => seen.length > 0);
    assert.deepEqual(seen[0], ['chatbot', 2, 1]);
    assert.equal(w.gw.view.all().length, 1);
    const reads = w.registry.routingReads.get('chatbot') ?? 0;
    await w.gw.view.refresh('chatbot');
    assert.equal(w.registry.routingReads.get('chatbot'), reads + 1);
  });
});
