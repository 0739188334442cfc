import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthClient } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import { startCliApp, type CliApp } from '../../test-support/cli-app.js';
import type { Io } from '../io.js';
import { main } from '../main.js';

const CANARY = `deployment: chatbot
model: cs-bot
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 10, pause: 60s}, {weight: 100}]
upstreams:
  - {versions: "*", url: "http://127.0.0.1:9/v1"}
slos:
  error_rate: {max: 0.02}
`;

/** Runs the CLI with its own environment and an abort signal (what startCliApp's runner does not offer). */
async function berthWith(argv: string[], env: Record<string, string | undefined>, signal?: AbortSignal, onOut?: (all: string) => void) {
  const out: string[] = [];
  const errs: string[] = [];
  const io: Io = {
    stdout: {
      write: (s: string) => {
        out.push(s);
        onOut?.(out.join(''));
      },
    },
    stderr: { write: (s: string) => errs.push(s) },
    env: { USER: 'ana', ...env },
    cwd: process.cwd(),
    signal,
  };
  const code = await main(argv, io);
  return { code, stdout: out.join(''), stderr: errs.join('') };
}

describe('berth deploy', () => {
  let cli: CliApp;
  let client: BerthClient;
  /** A time inside the window of the report the status test sends. */
  let servedAt = '';

  before(async () => {
    cli = await startCliApp('berth-cli-deploy-');
    client = new BerthClient({ url: cli.url, actor: 'setup', fetch: nodeFetch });
    await cli.writeFiles({ 'v1/w.txt': 'one', 'v2/w.txt': 'two', 'canary.yaml': CANARY, 'adir/x': '' });
    await cli.ok('push', './v1', '--model', 'cs-bot');
    await cli.ok('push', './v2', '--model', 'cs-bot');
    await cli.ok('alias', 'set', 'cs-bot', 'champion', '1');
    await cli.ok('alias', 'set', 'cs-bot', 'challenger', '2');
  });
  after(async () => cli.stop());

  describe('usage', () => {
    it('prints its usage with --help and exits 0', async () => {
      const r = await cli.ok('deploy', '--help');
      assert.match(r.stdout, /usage: berth deploy apply <FILE.yaml>/);
      assert.match(r.stdout, /berth deploy status <name> \[--watch\]/);
      assert.match((await cli.ok('help', 'deploy')).stdout, /berth deploy rm <name> --reason R/);
    });

    it('exits 2 with the usage when the subcommand is missing or unknown, or arguments do not fit', async () => {
      for (const [argv, message] of [
        [['deploy'], /give a deploy command: apply, ls, show, status or rm/],
        [['deploy', 'frob'], /unknown deploy command "frob"/],
        [['deploy', 'apply'], /deploy apply takes one deployment file/],
        [['deploy', 'apply', 'a.yaml', 'b.yaml'], /deploy apply takes one deployment file/],
        [['deploy', 'ls', 'x'], /deploy ls takes no arguments/],
        [['deploy', 'show'], /deploy show takes one deployment name/],
        [['deploy', 'status'], /deploy status takes one deployment name/],
        [['deploy', 'rm', 'chatbot'], /--reason is required/],
        [['deploy', 'rm', 'chatbot', '--reason', '  '], /--reason is required/],
        [['deploy', 'show', 'chatbot', '--version', 'two'], /--version must be a version number, not "two"/],
        [['deploy', 'status', 'chatbot', '--yaml'], /deploy status takes no --yaml/],
        [['deploy', 'apply', 'canary.yaml', '--watch'], /deploy apply takes no --watch/],
        [['deploy', 'ls', '--frob'], /Unknown option '--frob'/],
      ] as const) {
        const r = await cli.berth(...argv);
        assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /usage: berth deploy/);
      }
    });

    it('exits 2 naming the file when it does not exist or cannot be read, sending nothing', async () => {
      const missing = await cli.berth('deploy', 'apply', 'nope.yaml');
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /cannot read deployment file .*nope\.yaml: ENOENT/);
      const folder = await cli.berth('deploy', 'apply', 'adir', '--json');
      assert.equal(folder.code, 2, folder.stderr);
      assert.match(folder.stderr, /cannot read deployment file .*adir: EISDIR/);
      assert.equal(JSON.parse(folder.stdout).error.code, 'INVALID_ARGUMENT');
    });
  });

  describe('against the registry', () => {
    it('applies a file, then says unchanged for the same document and stores a new version for another', async () => {
      const first = await cli.ok('deploy', 'apply', 'canary.yaml');
      assert.match(first.stdout, /^deployment chatbot version 1 sha256:[0-9a-f]{64}\n$/);
      const again = await cli.ok('deploy', 'apply', 'canary.yaml', '--json');
      const d = JSON.parse(again.stdout);
      assert.equal(d.version, 1);
      assert.equal(d.unchanged, true);
      assert.equal(d.document.steps[0].pause_ms, 60_000);
      await cli.writeFiles({ 'canary2.yaml': CANARY.replace('weight: 10', 'weight: 20') });
      assert.match((await cli.ok('deploy', 'apply', 'canary2.yaml')).stdout, /^deployment chatbot version 2 sha256:\S+\n$/);
      assert.match((await cli.ok('deploy', 'apply', 'canary.yaml')).stdout, /version 3 /);
    });

    it("exits 2 with the registry's line and key for a bad document, and 1 for an alias that is not set", async () => {
      await cli.writeFiles({ 'bad.yaml': CANARY.replace('steps: [{weight: 10, pause: 60s}, {weight: 100}]', 'steps: [{weight: 50}, {weight: 10}]') });
      const bad = await cli.berth('deploy', 'apply', 'bad.yaml');
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /deployment line 6: steps\[1\]\.weight is below the step before/);
      await cli.writeFiles({
        'unset.yaml': CANARY.replace('deployment: chatbot', 'deployment: other')
          .replace('strategy: canary', 'strategy: single')
          .replace(/candidate.*\n|steps.*\n/g, '')
          .replace('stable: champion', 'stable: nobody'),
      });
      const unset = await cli.berth('deploy', 'apply', 'unset.yaml');
      assert.equal(unset.code, 1, unset.stderr);
      assert.match(unset.stderr, /cs-bot@nobody is not set/);
    });

    it('lists deployments and shows one, a given version, or only its YAML', async () => {
      const ls = await cli.ok('deploy', 'ls');
      assert.match(ls.stdout, /^NAME +VERSION +MODEL +STRATEGY +STABLE +CANDIDATE +UPSTREAMS/);
      assert.match(ls.stdout, /\nchatbot +3 +cs-bot +canary +champion +challenger +1 /);
      assert.equal(JSON.parse((await cli.ok('deploy', 'ls', '--json')).stdout)[0].name, 'chatbot');
      const show = await cli.ok('deploy', 'show', 'chatbot');
      assert.match(show.stdout, /deployment: +chatbot/);
      assert.match(show.stdout, /version: +3/);
      assert.match(show.stdout, /steps: +10% for 1m → 100%/);
      assert.match(show.stdout, /slos: +error rate ≤ 0.02 \(min 20 samples\)/);
      assert.match(show.stdout, /\n\* +http:\/\/127\.0\.0\.1:9\/v1 +openai +- +- +1m/);
      assert.match((await cli.ok('deploy', 'show', 'chatbot', '--version', '2')).stdout, /steps: +20% for 1m → 100%/);
      assert.equal((await cli.ok('deploy', 'show', 'chatbot', '--yaml')).stdout, CANARY);
      assert.equal(JSON.parse((await cli.ok('deploy', 'show', 'chatbot', '--version', '1', '--json')).stdout).version, 1);
      const missing = await cli.berth('deploy', 'show', 'nothing');
      assert.equal(missing.code, 3, missing.stderr);
    });

    it('shows status: aliases, no rollout and no reports at first', async () => {
      const r = await cli.ok('deploy', 'status', 'chatbot');
      assert.match(r.stdout, /^deployment chatbot version 3 +model cs-bot +strategy canary\n/);
      assert.match(r.stdout, /aliases: .*champion=1/);
      assert.match(r.stdout, /aliases: .*challenger=2/);
      assert.match(r.stdout, /rollout: +none/);
      assert.match(r.stdout, /no gateway has reported serving it in the last minute/);
    });

    it("shows the rollout with its last decision and each gateway's latest report per version", async () => {
      const rollout = await client.decideRollout('chatbot', { decision: 'start', kind: 'canary', candidate_version: 2, stable_version: 1, gateway: 'gw-a' });
      await client.decideRollout('chatbot', {
        decision: 'hold',
        rollout_id: rollout.id,
        expect_step: 0,
        candidate_version: 2,
        gateway: 'gw-a',
        reason: 'error_rate: 3 samples, needs 20',
      });
      const to = new Date();
      const from = new Date(to.getTime() - 10_000);
      servedAt = new Date(to.getTime() - 5000).toISOString();
      const base = { shadow: false, tokens_in: 10, tokens_out: 20, judged: 0, below: 0, mean_score: null };
      await client.reportServed('chatbot', {
        gateway: 'gw-a',
        from: from.toISOString(),
        to: to.toISOString(),
        versions: [
          { ...base, version: 1, weight: 90, requests: 900, errors: 1, p50_ms: 12.25, p99_ms: 80 },
          { ...base, version: 2, weight: 10, requests: 100, errors: 3, p50_ms: 15, p99_ms: 120.5, judged: 40, below: 4, mean_score: 0.8125 },
        ],
      });
      const r = await cli.ok('deploy', 'status', 'chatbot');
      assert.match(r.stdout, /rollout: +canary of cs-bot:2 \(from cs-bot:1\) +held +step 0 +weight 10%/);
      assert.match(r.stdout, /decision: +hold at \S+ \S+ by gw-a: error_rate: 3 samples, needs 20/);
      assert.match(r.stdout, /gateway gw-a +\S+ \S+ – \S+ \S+\n/);
      assert.match(r.stdout, /VERSION +WEIGHT +REQUESTS +ERRORS +P50 +P99 +TOKENS IN\/OUT +JUDGED +BELOW +MEAN SCORE/);
      assert.match(r.stdout, /cs-bot:1 +90% +900 +1 +12\.3 ms +80 ms +10\/20 +0 +0 +-\n/);
      assert.match(r.stdout, /cs-bot:2 +10% +100 +3 +15 ms +120\.5 ms +10\/20 +40 +4 +0\.813\n/);
      const json = JSON.parse((await cli.ok('deploy', 'status', 'chatbot', '--json')).stdout);
      assert.equal(json.rollout.state, 'held');
      assert.equal(json.reports[0].versions[1].requests, 100);
    });

    it('--watch --json prints one JSON line per read until stopped', async () => {
      const stop = new AbortController();
      const r = await berthWith(['deploy', 'status', 'chatbot', '--watch', '--json'], { BERTH_URL: cli.url }, stop.signal, (all) => {
        if (all.split('\n').length > 2) stop.abort();
      });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 2);
      for (const line of lines) assert.equal(JSON.parse(line).deployment.name, 'chatbot');
    });

    it('tells which versions served what share at a time with at --served', async () => {
      const r = await cli.ok('at', servedAt, '--served', 'chatbot');
      assert.match(r.stdout, /^chatbot at .*, from 1 gateway report\(s\):\n/);
      assert.match(r.stdout, /VERSION +SHARE +REQUESTS +WEIGHT\n1 +90\.0% +900 +90%\n2 +10\.0% +100 +10%\n/);
      assert.match(r.stdout, /gw-a .* 1: 900 req at 90%, 2: 100 req at 10%/);
      const before = await cli.ok('at', '2020-01-01', '--served', 'chatbot');
      assert.match(before.stdout, /no gateway reported serving chatbot at 2020-01-01 00:00:00Z/);
      assert.deepEqual(JSON.parse((await cli.ok('at', '2020-01-01', '--served', 'chatbot', '--json')).stdout).versions, []);
      const unknown = await cli.berth('at', '2020-01-01', '--served', 'nothing');
      assert.equal(unknown.code, 3, unknown.stderr);
    });

    it('removes a deployment with a reason; it is then not found', async () => {
      assert.match((await cli.ok('deploy', 'rm', 'chatbot', '--reason', 'retired')).stdout, /deployment chatbot removed/);
      assert.equal((await cli.berth('deploy', 'show', 'chatbot')).code, 3);
      assert.equal((await cli.berth('deploy', 'status', 'chatbot')).code, 3);
      assert.equal((await cli.berth('deploy', 'rm', 'chatbot', '--reason', 'again')).code, 3);
      assert.match((await cli.ok('deploy', 'ls')).stdout, /no deployments/);
    });
  });
});

describe('berth at --served', () => {
  it('exits 2 when --served comes with a reference or without a time', async () => {
    for (const argv of [
      ['at', '2026-03-08T14:32:00Z', 'cs-bot@champion', '--served', 'chatbot'],
      ['at', '--served', 'chatbot'],
    ]) {
      const r = await berthWith(argv, { BERTH_URL: 'http://127.0.0.1:9' });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /with --served, give only a time/);
    }
    const badTime = await berthWith(['at', 'yesterday', '--served', 'chatbot'], { BERTH_URL: 'http://127.0.0.1:9' });
    assert.equal(badTime.code, 2, badTime.stderr);
  });
});

describe('berth feedback', () => {
  let gateway: Server;
  let gatewayUrl = '';
  const received: Array<{ path: string; body: Record<string, unknown> }> = [];

  /** The outside world: a gateway that knows req_known, refuses scores it dislikes and fails on req_boom. */
  before(async () => {
    gateway = createServer(async (req: IncomingMessage, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      const body = JSON.parse(text) as { request_id: string };
      received.push({ path: req.url ?? '', body });
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.method !== 'POST' || req.url !== '/v1/feedback') return answer(404, { error: { message: 'no such route', code: 'not_found' } });
      if (body.request_id === 'req_known') return answer(200, { ok: true, request_id: 'req_known', deployment: 'chatbot', version: 13 });
      if (body.request_id === 'req_bad') return answer(400, { error: { message: 'score must be from 0 to 1', type: 'invalid_request_error' } });
      if (body.request_id === 'req_boom') return (res.writeHead(502), res.end('upstream exploded'));
      if (body.request_id === 'req_garbage') return (res.writeHead(200), res.end('not json'));
      return answer(404, { error: { message: `request ${body.request_id} is not known`, type: 'invalid_request_error', code: 'request_not_found' } });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => gateway.close(() => resolve())));

  it('posts the score and comment to the gateway named by --gateway and prints what it was counted for', async () => {
    received.length = 0;
    const r = await berthWith(['feedback', 'req_known', '--score', '0.2', '--comment', 'off topic', '--gateway', `${gatewayUrl}/`], {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'feedback 0.2 recorded for req_known (deployment chatbot, version 13)\n');
    assert.deepEqual(received, [{ path: '/v1/feedback', body: { request_id: 'req_known', score: 0.2, comment: 'off topic' } }]);
  });

  it('takes the gateway from BERTH_GATEWAY_URL, a base URL ending in /v1 as is, and prints JSON with --json', async () => {
    received.length = 0;
    const r = await berthWith(['feedback', 'req_known', '--score', '1', '--json'], { BERTH_GATEWAY_URL: `${gatewayUrl}/v1` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, request_id: 'req_known', deployment: 'chatbot', version: 13 });
    assert.deepEqual(received, [{ path: '/v1/feedback', body: { request_id: 'req_known', score: 1 } }]);
  });

  it('exits 3 for a request id the gateway does not know, with its message', async () => {
    const r = await berthWith(['feedback', 'req_gone', '--score', '0', '--gateway', gatewayUrl, '--json'], {});
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /the gateway at http:\/\/127\.0\.0\.1:\d+ does not know request "req_gone": request req_gone is not known \(it remembers/);
    assert.equal(JSON.parse(r.stdout).error.code, 'NOT_FOUND');
  });

  it('exits 2 when the gateway refuses the feedback, 1 when it fails or answers garbage', async () => {
    const bad = await berthWith(['feedback', 'req_bad', '--score', '0.5', '--gateway', gatewayUrl], {});
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /refused the feedback: score must be from 0 to 1/);
    const boom = await berthWith(['feedback', 'req_boom', '--score', '0.5', '--gateway', gatewayUrl], {});
    assert.equal(boom.code, 1, boom.stderr);
    assert.match(boom.stderr, /answered 502: upstream exploded/);
    const garbage = await berthWith(['feedback', 'req_garbage', '--score', '0.5', '--gateway', gatewayUrl], {});
    assert.equal(garbage.code, 1, garbage.stderr);
    assert.match(garbage.stderr, /answered 200 with something that is not JSON: not json/);
  });

  it('exits 1 saying how to fix a gateway it cannot reach', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await berthWith(['feedback', 'req_known', '--score', '0.5'], { BERTH_GATEWAY_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): start it with `berth gateway`, or point --gateway \/ BERTH_GATEWAY_URL at it/,
    );
  });

  it('exits 2 without sending anything for a missing or out-of-range score, a missing id or a bad URL', async () => {
    received.length = 0;
    for (const [argv, message] of [
      [['feedback', 'req_known'], /--score is required/],
      [['feedback', 'req_known', '--score', '1.5'], /--score must be a number from 0 to 1, not "1.5"/],
      [['feedback', 'req_known', '--score=-0.1'], /--score must be a number from 0 to 1/],
      [['feedback', 'req_known', '--score', 'good'], /--score must be a number from 0 to 1, not "good"/],
      [['feedback', '--score', '0.5'], /give one request id/],
      [['feedback', 'a', 'b', '--score', '0.5'], /give one request id/],
      [['feedback', 'req_known', '--score', '0.5', '--gateway', 'ftp://x'], /--gateway "ftp:\/\/x" is not an http\(s\) URL/],
      [['feedback', 'req_known', '--score', '0.5', '--gateway', 'nowhere'], /--gateway "nowhere" is not an http\(s\) URL/],
    ] as const) {
      const r = await berthWith((argv as readonly string[]).includes('--gateway') ? [...argv] : [...argv, '--gateway', gatewayUrl], {});
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const env = await berthWith(['feedback', 'req_known', '--score', '0.5'], { BERTH_GATEWAY_URL: 'gateway:8080' });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /BERTH_GATEWAY_URL "gateway:8080" is not an http\(s\) URL/);
    assert.deepEqual(received, []);
    assert.match((await berthWith(['feedback', '--help'], {})).stdout, /usage: berth feedback <request-id> --score X/);
  });
});
