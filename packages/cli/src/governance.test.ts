import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Evaluation, Promotion, Version } from '@berth/core';
import { BerthClient } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock } from '@berth/server';
import { main } from './main.js';
import type { Io } from './io.js';

/** `berth eval`, `policy`, `gate`, `promote`, `promotions`, `approve`, `reject`, `rollback` against a real server on loopback. */
let url: string;
let work: string;
let stop: () => Promise<void>;
/** Sets up and inspects the server's state, as another user would. */
let direct: BerthClient;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-cli-gov-'));
  const store = await openStore(`sqlite:${join(work, 'berth.db')}`);
  const blobs = await FsBlobStore.open(join(work, 'blobs'));
  const app = await buildApp({ registry: new Registry({ store, blobs, clock: systemClock, config: DEFAULT_REGISTRY_CONFIG }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  direct = new BerthClient({ url, actor: 'setup', fetch: nodeFetch });
  stop = async () => {
    await app.close();
    await blobs.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  };
});
afterEach(() => stop());

async function berth(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const errs: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => errs.push(s) },
    env: { USER: 'ana', BERTH_URL: url, PATH: process.env.PATH ?? '', ...env },
    cwd: work,
  };
  const code = await main(argv, io);
  return { code, stdout: out.join(''), stderr: errs.join('') };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function commit(name: string, text = `${name} ${Math.random()}`): Promise<Version> {
  return direct.createVersion(name, {
    files: [{ path: 'weights.txt', size: Buffer.byteLength(text), sha256: sha(text) }],
    blobs: [{ sha256: sha(text), base64: Buffer.from(text).toString('base64') }],
  });
}

async function evaluations(name: string, version: number): Promise<Evaluation[]> {
  return (await direct.listEvaluations(name, version)).items;
}

const POLICY = `policy: chatbot-promotion
target_alias: champion
gates:
  - { name: accuracy, metric: accuracy, min: 0.90 }
  - { name: latency, metric: p99_latency_ms, max: 500 }
  - { name: no-regression, metric: accuracy, compare_to: champion, max_drop: 0.01 }
`;

async function applyPolicy(yaml = POLICY): Promise<void> {
  await writeFile(join(work, 'policy.yaml'), yaml);
  const r = await berth(['policy', 'apply', 'policy.yaml']);
  assert.equal(r.code, 0, r.stderr);
}

/** A shell word for this node binary, for commands `eval run` hands to the shell. */
const node = JSON.stringify(process.execPath);

describe('governance commands', () => {
  it('show their usage with --help and refuse an unknown subcommand with exit 2, before talking to a server', async () => {
    for (const cmd of ['eval', 'policy', 'gate', 'promote', 'promotions', 'approve', 'reject', 'rollback']) {
      const help = await berth([cmd, '--help'], { BERTH_URL: 'http://127.0.0.1:9' });
      assert.equal(help.code, 0, cmd);
      assert.match(help.stdout, new RegExp(`^usage: berth ${cmd} `), cmd);
    }
    for (const argv of [['eval', 'frob', 'm:1'], ['policy', 'frob'], ['gate', 'frob'], ['promotions', 'frob'], ['promote'], ['approve'], ['rollback', 'm']]) {
      const r = await berth(argv, { BERTH_URL: 'http://127.0.0.1:9' });
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, /^error: .*\n\nusage: berth /, argv.join(' '));
    }
  });
});

describe('berth eval record', () => {
  it('records a metrics file merged with --metric pairs, its dataset and source, for the version an alias names', async () => {
    await commit('chatbot');
    await direct.setAlias('chatbot', 'challenger', 1);
    await writeFile(join(work, 'eval.json'), JSON.stringify({ accuracy: 0.9, safety_score: 0.97 }));
    const digest = `golden-set@sha256:${'a'.repeat(64)}`;
    const r = await berth([
      'eval',
      'record',
      'chatbot@challenger',
      '--metrics',
      'eval.json',
      '--metric',
      'accuracy=0.923',
      '--dataset',
      digest,
      '--by',
      'ci',
      '--measured-at',
      '2026-03-08',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^chatbot:1 evaluation \S+ recorded: accuracy=0.923, safety_score=0.97 \(dataset golden-set@sha256:a+, by ci\)\n$/);
    const [e, ...rest] = await evaluations('chatbot', 1);
    assert.equal(rest.length, 0);
    assert.deepEqual(e?.metrics, { accuracy: 0.923, safety_score: 0.97 });
    assert.equal(e?.dataset, digest);
    assert.equal(e?.source, 'ci');
    assert.equal(e?.recorded_by, 'self-declared:ana');
    assert.equal(e?.measured_at, '2026-03-08T00:00:00.000Z');

    const j = await berth(['eval', 'ls', 'chatbot:1', '--json']);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(
      (JSON.parse(j.stdout) as Evaluation[]).map((x) => x.id),
      [e?.id],
    );
  });

  it('refuses metrics that are not numbers, naming them, and records nothing', async () => {
    await commit('chatbot');
    await writeFile(join(work, 'eval.json'), JSON.stringify({ accuracy: '0.9', loss: null, ok: 1 }));
    const file = await berth(['eval', 'record', 'chatbot:1', '--metrics', 'eval.json']);
    assert.equal(file.code, 2);
    assert.match(file.stderr, /--metrics eval\.json: every metric must be a finite number; not: accuracy \("0\.9"\), loss \(null\)/);
    const pair = await berth(['eval', 'record', 'chatbot:1', '--metric', 'accuracy=high']);
    assert.equal(pair.code, 2);
    assert.match(pair.stderr, /--metric: every metric must be a finite number; not: accuracy \("high"\)/);
    await writeFile(join(work, 'list.json'), '[1, 2]');
    assert.match((await berth(['eval', 'record', 'chatbot:1', '--metrics', 'list.json'])).stderr, /must hold a JSON object of metrics/);
    const missing = await berth(['eval', 'record', 'chatbot:1', '--metrics', 'nope.json']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /cannot read --metrics file .*nope\.json: ENOENT/);
    const when = await berth(['eval', 'record', 'chatbot:1', '--metric', 'a=1', '--measured-at', 'yesterday']);
    assert.equal(when.code, 2);
    assert.match(when.stderr, /measured-at/);
    const none = await berth(['eval', 'record', 'chatbot:1']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give --metrics FILE\.json or at least one --metric/);
    assert.deepEqual(await evaluations('chatbot', 1), []);
  });

  it('exits 3 for a version that does not exist', async () => {
    await commit('chatbot');
    const r = await berth(['eval', 'record', 'chatbot:7', '--metric', 'accuracy=1']);
    assert.equal(r.code, 3);
  });
});

describe('berth eval run', () => {
  it('runs the command on the pulled version and records what it wrote to {output}', async () => {
    const v = await commit('chatbot', 'twelve bytes');
    const script =
      "const fs=require('fs');const [dir,out]=process.argv.slice(1);console.log('evaluating',dir);fs.writeFileSync(out,JSON.stringify({bytes:fs.statSync(dir+'/weights.txt').size,accuracy:0.93}))";
    const command = `${node} -e ${JSON.stringify(script)} {model_dir} {output}`;
    const r = await berth(['eval', 'run', 'chatbot:1', '--command', command, '--dataset', 'golden-set']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /evaluating \S+berth-eval-\S+\/model/, "the command's output goes to stderr");
    const [e] = await evaluations('chatbot', v.version);
    assert.deepEqual(e?.metrics, { bytes: 12, accuracy: 0.93 });
    assert.equal(e?.source, `berth eval run: ${command}`);
    assert.equal(e?.dataset, 'golden-set');
    assert.deepEqual(
      (await readdir(tmpdir())).filter((f) => f.startsWith('berth-eval-') && r.stderr.includes(f)),
      [],
      'the temporary folder is removed',
    );
  });

  it('records nothing and exits 1 with the exit code when the command fails', async () => {
    await commit('chatbot');
    const command = `${node} -e "require('fs').writeFileSync(process.env.BERTH_OUTPUT, '{\\"accuracy\\": 1}'); process.exit(3)"`;
    const r = await berth(['eval', 'run', 'chatbot:1', '--command', command]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: the command exited with code 3; nothing was recorded for chatbot:1/);
    assert.deepEqual(await evaluations('chatbot', 1), []);
  });

  it('records nothing when the command writes no output or an output that is not an object of numbers', async () => {
    await commit('chatbot');
    const quiet = await berth(['eval', 'run', 'chatbot:1', '--command', `${node} -e "0"`]);
    assert.equal(quiet.code, 1);
    assert.match(quiet.stderr, /the command finished but wrote nothing to \{output\} \(.*metrics\.json\): have it write a JSON object of metrics/);
    const words = await berth(['eval', 'run', 'chatbot:1', '--command', `${node} -e "require('fs').writeFileSync(process.argv[1], 'done')" {output}`]);
    assert.equal(words.code, 1);
    assert.match(words.stderr, /the command output .*metrics\.json is not JSON/);
    const text = await berth([
      'eval',
      'run',
      'chatbot:1',
      '--command',
      `${node} -e "require('fs').writeFileSync(process.argv[1], '{\\"accuracy\\": \\"high\\"}')" {output}`,
    ]);
    assert.equal(text.code, 1);
    assert.match(text.stderr, /every metric must be a finite number; not: accuracy \("high"\); nothing was recorded/);
    assert.deepEqual(await evaluations('chatbot', 1), []);
  });

  it('keeps the folder with --keep, and needs --command', async () => {
    await commit('chatbot');
    const r = await berth([
      'eval',
      'run',
      'chatbot:1',
      '--keep',
      '--command',
      `${node} -e "require('fs').writeFileSync(process.argv[1], '{\\"a\\": 1}')" {output}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const kept = /kept (\S+)/.exec(r.stderr)?.[1];
    assert.ok(kept);
    assert.deepEqual((await readdir(kept)).sort(), ['metrics.json', 'model']);
    await rm(kept, { recursive: true });
    const none = await berth(['eval', 'run', 'chatbot:1']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give --command/);
  });
});

describe('berth eval latency', () => {
  let upstream: Server | undefined;
  afterEach(() => new Promise<void>((done) => (upstream ? upstream.close(() => done()) : done())));

  it('records p50/p95/p99, error rate and throughput measured against a local endpoint', async () => {
    await commit('chatbot');
    let n = 0;
    const bodies: string[] = [];
    upstream = createServer((req, res) => {
      const i = n++;
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        bodies.push(body);
        // every 10th request is slow, every 25th fails
        setTimeout(() => res.writeHead(i % 25 === 24 ? 500 : 200).end('{}'), i % 10 === 9 ? 150 : 10);
      });
    });
    await new Promise<void>((done) => upstream!.listen(0, '127.0.0.1', done));
    const endpoint = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1/chat/completions`;
    await writeFile(join(work, 'request.json'), '{"messages":[]}');
    const r = await berth(['eval', 'latency', 'chatbot:1', '--url', endpoint, '--body', 'request.json', '--requests', '100', '--concurrency', '5']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^probing POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: 100 request\(s\), 5 at a time\n/);
    assert.match(r.stderr, /100\/100 requests/);
    assert.match(r.stderr, /4 of 100 request\(s\) failed; the first: POST \S+ answered 500/);
    assert.equal(bodies.length, 100);
    assert.ok(bodies.every((b) => b === '{"messages":[]}'));
    const [e] = await evaluations('chatbot', 1);
    assert.equal(e?.source, 'berth eval latency');
    const m = e?.metrics ?? {};
    assert.deepEqual(Object.keys(m).sort(), ['error_rate', 'p50_latency_ms', 'p95_latency_ms', 'p99_latency_ms', 'throughput_rps']);
    assert.equal(m.error_rate, 0.04);
    assert.ok(m.p50_latency_ms! >= 10 && m.p50_latency_ms! < 150, `p50 ${m.p50_latency_ms}`);
    // 9 of the 96 successes took 150 ms (the 100th request is slow and fails): the 95th and 99th percentiles are among them
    assert.ok(m.p95_latency_ms! >= 150 && m.p99_latency_ms! >= m.p95_latency_ms! && m.p99_latency_ms! < 3000, JSON.stringify(m));
    assert.ok(m.throughput_rps! > 0 && m.throughput_rps! < 500, `throughput ${m.throughput_rps}`);
    assert.deepEqual(e?.details.outcomes, { '200': 96, '500': 4 });
    assert.equal(e?.details.method, 'POST');
  });

  it('records nothing when every request fails, and checks its options before probing', async () => {
    await commit('chatbot');
    const down = await berth(['eval', 'latency', 'chatbot:1', '--url', 'http://127.0.0.1:9/x', '--requests', '3']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /all 3 request\(s\) failed, nothing was recorded; the first: GET http:\/\/127\.0\.0\.1:9\/x failed: .*ECONNREFUSED/);
    // --url is the endpoint here: the server comes from --berth-url (or BERTH_URL)
    const viaFlag = await berth(['eval', 'latency', 'chatbot:1', '--url', 'http://127.0.0.1:9/x', '--requests', '1', '--berth-url', url], {
      BERTH_URL: 'http://127.0.0.1:9',
    });
    assert.match(viaFlag.stderr, /all 1 request\(s\) failed/, 'the version was resolved on the server --berth-url names');
    assert.deepEqual(await evaluations('chatbot', 1), []);
    for (const [args, message] of [
      [[], /give --url/],
      [['--url', 'ftp://h/x'], /--url must be http\(s\)/],
      [['--url', 'http://h/x', '--requests', '0'], /--requests must be a whole number from 1/],
      [['--url', 'http://h/x', '--header', 'nocolon'], /--header takes name:value/],
      [['--url', 'http://h/x', '--timeout', 'soon'], /--timeout "soon" is not a duration/],
    ] as const) {
      const r = await berth(['eval', 'latency', 'chatbot:1', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});

describe('berth policy', () => {
  it('applies a file, says unchanged when it is the same, lists and shows versions', async () => {
    await writeFile(join(work, 'policy.yaml'), POLICY);
    const first = await berth(['policy', 'apply', 'policy.yaml']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^policy chatbot-promotion version 1 sha256:[0-9a-f]{64}\n$/);
    const again = await berth(['policy', 'apply', 'policy.yaml']);
    assert.match(again.stdout, /^policy chatbot-promotion version 1 sha256:[0-9a-f]{64} unchanged\n$/);
    await writeFile(join(work, 'policy.yaml'), POLICY.replace('min: 0.90', 'min: 0.91'));
    const second = await berth(['policy', 'apply', 'policy.yaml', '--json']);
    assert.equal(JSON.parse(second.stdout).version, 2);

    const ls = await berth(['policy', 'ls']);
    assert.match(ls.stdout, /^NAME\s+VERSION\s+ALIAS\s+GATES/);
    assert.match(ls.stdout, /\nchatbot-promotion\s+2\s+champion\s+3\s/);
    const show = await berth(['policy', 'show', 'chatbot-promotion', '--version', '1']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^policy:\s+chatbot-promotion\nversion:\s+1\n/);
    assert.ok(show.stdout.includes(POLICY), 'show prints the YAML as applied');
    const ghost = await berth(['policy', 'show', 'ghost']);
    assert.equal(ghost.code, 3);
  });

  it('refuses an invalid file before sending it, naming the line and key', async () => {
    await writeFile(join(work, 'bad.yaml'), POLICY.replace('min: 0.90', 'minimum: 0.90'));
    const r = await berth(['policy', 'apply', 'bad.yaml'], { BERTH_URL: 'http://127.0.0.1:9' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: bad\.yaml: .*line 4.*minimum/);
    const missing = await berth(['policy', 'apply', 'ghost.yaml']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /cannot read policy file .*ghost\.yaml: ENOENT/);
  });
});

/** chatbot:1 holds champion, recorded as good; chatbot:2 is the candidate with `metrics`. */
async function candidate(metrics: Record<string, number>): Promise<void> {
  await commit('chatbot');
  await commit('chatbot');
  await direct.recordEvaluation('chatbot', 1, { metrics: { accuracy: 0.918, p99_latency_ms: 420 } });
  await direct.setAlias('chatbot', 'champion', 1);
  await direct.recordEvaluation('chatbot', 2, { metrics });
  await applyPolicy();
}

describe('berth gate check', () => {
  it('prints one line per gate and exits 0 when all pass', async () => {
    await candidate({ accuracy: 0.923, p99_latency_ms: 412 });
    const r = await berth(['gate', 'check', 'chatbot:2', '--policy', 'chatbot-promotion']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '[gate-1] accuracy 0.923 >= 0.90 PASS',
        '[gate-2] p99 latency 412ms <= 500ms PASS',
        '[gate-3] candidate 0.923 vs champion 0.918 (delta +0.005) PASS',
        'chatbot:2 passes chatbot-promotion (3 gate(s))',
        '',
      ].join('\n'),
    );
    assert.deepEqual((await direct.listPromotions('chatbot')).items, [], 'a check stores nothing');
  });

  it('exits 1 naming a missing metric, and checks an unapplied policy file the same way', async () => {
    await candidate({ accuracy: 0.95 });
    const r = await berth(['gate', 'check', 'chatbot:2', '--policy', 'chatbot-promotion']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /\[gate-2\] latency: no evaluation of metric p99_latency_ms for chatbot:2 FAIL/);
    assert.match(r.stdout, /chatbot:2 fails chatbot-promotion: 1 of 3 gate\(s\) failed\n$/);
    const j = await berth(['gate', 'check', 'chatbot:2', '--policy', 'chatbot-promotion', '--json']);
    const report = JSON.parse(j.stdout) as { policy: { name: string; version: number }; report: { passed: boolean } };
    assert.deepEqual([report.policy.name, report.policy.version, report.report.passed], ['chatbot-promotion', 1, false]);

    await writeFile(
      join(work, 'relaxed.yaml'),
      'policy: relaxed\ntarget_alias: champion\ngates:\n  - { name: no-regression, metric: accuracy, compare_to: champion }\n',
    );
    const file = await berth(['gate', 'check', 'chatbot:2', '--policy-file', 'relaxed.yaml']);
    assert.equal(file.code, 0, file.stderr);
    assert.match(file.stdout, /^\[gate-1\] candidate 0\.95 vs champion 0\.918 \(delta \+0\.032\) PASS\n/);
    assert.deepEqual(
      (await direct.listPolicies()).items.map((p) => p.name),
      ['chatbot-promotion'],
      'the file was not applied',
    );
  });

  it('gives the same report for a policy file as for the applied policy: evaluations, source-run metrics and compared holders', async () => {
    const run = await direct.createRun({ name: 'train' });
    await direct.logRun(run.run_id, {
      metrics: [
        { key: 'val_accuracy', value: 0.8, step: 1 },
        { key: 'val_accuracy', value: 0.94, step: 2 },
      ],
    });
    const text = 'weights with a run';
    await commit('chatbot');
    await direct.createVersion('chatbot', {
      files: [{ path: 'weights.txt', size: text.length, sha256: sha(text) }],
      blobs: [{ sha256: sha(text), base64: Buffer.from(text).toString('base64') }],
      run_id: run.run_id,
    });
    await direct.setAlias('chatbot', 'champion', 1);
    await direct.recordEvaluation('chatbot', 1, { metrics: { accuracy: 0.93 }, dataset: 'golden@sha256:1' });
    await direct.recordEvaluation('chatbot', 2, { metrics: { accuracy: 0.95 }, dataset: 'golden@sha256:2' });
    await direct.recordEvaluation('chatbot', 2, { metrics: { accuracy: 0.91 }, dataset: 'other' });
    const yaml = `policy: parity
target_alias: champion
dataset: golden
gates:
  - { name: accuracy, metric: accuracy, min: 0.9, compare_to: champion, max_drop: 0.01 }
  - { name: val, metric: 'run:val_accuracy', min: 0.9 }
  - { name: typo, metric: 'run:val_acc', min: 0.9 }
  - { name: unset, metric: accuracy, compare_to: challenger }
`;
    await applyPolicy(yaml);
    const viaServer = await berth(['gate', 'check', 'chatbot:2', '--policy', 'parity', '--json']);
    const viaFile = await berth(['gate', 'check', 'chatbot:2', '--policy-file', 'policy.yaml', '--json']);
    assert.equal(viaServer.code, 1, viaServer.stderr);
    assert.equal(viaFile.code, 1, viaFile.stderr);
    const server = JSON.parse(viaServer.stdout) as { report: unknown };
    const file = JSON.parse(viaFile.stdout) as { report: unknown; policy: unknown };
    assert.deepEqual(file.report, server.report);
    assert.deepEqual(file.policy, { name: 'parity', version: null, digest: null });
    const lines = (await berth(['gate', 'check', 'chatbot:2', '--policy-file', 'policy.yaml'])).stdout;
    assert.match(lines, /\[gate-1\] .*0\.95.* PASS\n\[gate-2\] .*0\.94.* PASS\n\[gate-3\] typo: no metric val_acc in run \w+ of chatbot:2 FAIL\n/);
  });

  it('needs exactly one of --policy and --policy-file', async () => {
    for (const args of [[], ['--policy', 'a', '--policy-file', 'b.yaml']]) {
      const r = await berth(['gate', 'check', 'chatbot:2', ...args], { BERTH_URL: 'http://127.0.0.1:9' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /give either --policy NAME or --policy-file FILE\.yaml/);
    }
  });
});

describe('berth promote', () => {
  it('moves the alias when every gate passes, printing the gates and the move', async () => {
    await candidate({ accuracy: 0.923, p99_latency_ms: 412 });
    const r = await berth(['promote', 'chatbot:2', '--to', 'champion', '--policy', 'chatbot-promotion', '--reason', 'beats v1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[gate-1\] accuracy 0\.923 >= 0\.90 PASS\n.*\n.*\nchatbot@champion -> 2 \(promotion prm_\w+, policy chatbot-promotion v1\)\n$/);
    assert.equal((await direct.resolve('chatbot@champion')).version, 2);
  });

  it('exits 1 with the failing gates when refused; the alias stays and the refusal is listed with its report', async () => {
    await candidate({ accuracy: 0.85, p99_latency_ms: 412 });
    const r = await berth(['promote', 'chatbot:2', '--policy', 'chatbot-promotion']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /\[gate-1\] accuracy 0\.85 >= 0\.90 FAIL/);
    assert.match(r.stderr, /^error: promotion prm_\w+ refused: 2 of 3 gate\(s\) failed; chatbot@champion did not move\n$/);
    assert.equal((await direct.resolve('chatbot@champion')).version, 1);

    const ls = await berth(['promotions', 'ls', 'chatbot', '--state', 'failed', '--json']);
    const [p] = JSON.parse(ls.stdout) as Promotion[];
    assert.equal(p?.state, 'failed');
    const table = await berth(['promotions', 'ls', 'chatbot']);
    assert.match(table.stdout, new RegExp(`\\n${p?.id}\\s+\\S+ \\S+\\s+promotion\\s+2\\s+champion\\s+1\\s+failed\\s+chatbot-promotion v1`));
    const show = await berth(['promotions', 'show', p?.id ?? '']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /gates:\n {2}\[gate-1\] accuracy 0\.85 >= 0\.90 FAIL\n/);
    assert.match(show.stdout, /failed its gates; chatbot@champion did not move\n$/);
    const j = await berth(['promote', 'chatbot:2', '--policy', 'chatbot-promotion', '--json']);
    assert.equal(j.code, 1);
    assert.equal(JSON.parse(j.stdout).error.code, 'FAILED_PRECONDITION');
  });

  it('exits 4 naming the holder when the alias does not hold --expect', async () => {
    await candidate({ accuracy: 0.923, p99_latency_ms: 412 });
    const r = await berth(['promote', 'chatbot:2', '--policy', 'chatbot-promotion', '--expect', '2']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /champion is at 1 now \(expected 2\); nothing was changed/);
    assert.equal((await direct.resolve('chatbot@champion')).version, 1);
  });

  it('waits for approvals: approve by another user moves it; self-approval, double approval and reject are refused or recorded', async () => {
    await candidate({ accuracy: 0.923, p99_latency_ms: 412 });
    await applyPolicy(`${POLICY}require_approvals: 1\n`);
    const r = await berth(['promote', 'chatbot:2', '--policy', 'chatbot-promotion']);
    assert.equal(r.code, 0, r.stderr);
    const id = /promotion (prm_\w+) of chatbot:2 to champion is pending: 1 of 1 approval\(s\) missing; approve with `berth approve prm_\w+`/.exec(
      r.stdout,
    )?.[1];
    assert.ok(id, r.stdout);
    assert.equal((await direct.resolve('chatbot@champion')).version, 1);

    const own = await berth(['approve', id]);
    assert.equal(own.code, 1, 'the requester cannot approve their own promotion');
    const ok = await berth(['approve', id, '--reason', 'reviewed eval report'], { USER: 'bob' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^chatbot@champion -> 2 \(promotion /);
    assert.equal((await direct.resolve('chatbot@champion')).version, 2);
    const twice = await berth(['approve', id], { USER: 'bob' });
    assert.equal(twice.code, 1, 'a passed promotion is not pending any more');

    await commit('chatbot');
    await direct.recordEvaluation('chatbot', 3, { metrics: { accuracy: 0.93, p99_latency_ms: 400 } });
    const next = await berth(['promote', 'chatbot:3', '--policy', 'chatbot-promotion', '--json']);
    const pending = JSON.parse(next.stdout) as Promotion;
    assert.equal(pending.state, 'pending');
    const no = await berth(['reject', pending.id, '--reason', 'not this week'], { USER: 'bob' });
    assert.equal(no.code, 0, no.stderr);
    assert.match(no.stdout, /was rejected; chatbot@champion did not move/);
    assert.equal((await direct.getPromotion(pending.id)).state, 'rejected');
  });

  it('refuses a second approval by the same approver (exit 4) and an approval after the alias moved (exit 4, stale)', async () => {
    await candidate({ accuracy: 0.923, p99_latency_ms: 412 });
    await applyPolicy(`${POLICY}require_approvals: 2\n`);
    const pending = JSON.parse((await berth(['promote', 'chatbot:2', '--policy', 'chatbot-promotion', '--json'])).stdout) as Promotion;
    const first = await berth(['approve', pending.id], { USER: 'bob' });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /pending: 1 of 2 approval\(s\) missing/);
    const again = await berth(['approve', pending.id], { USER: 'bob' });
    assert.equal(again.code, 4);
    await commit('chatbot');
    await direct.setAlias('chatbot', 'champion', 3);
    const stale = await berth(['approve', pending.id], { USER: 'eve' });
    assert.equal(stale.code, 4);
    assert.match(stale.stderr, /champion is at 3 now, not 1 .*stale/);
    assert.equal((await direct.getPromotion(pending.id)).state, 'stale');
    assert.equal((await direct.resolve('chatbot@champion')).version, 3);
  });
});

describe('berth rollback', () => {
  it('moves the alias back to its previous holder with the reason, which it requires', async () => {
    await commit('chatbot');
    await commit('chatbot');
    await direct.setAlias('chatbot', 'champion', 1);
    await direct.setAlias('chatbot', 'champion', 2);
    const none = await berth(['rollback', 'chatbot', 'champion']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--reason is required/);
    const r = await berth(['rollback', 'chatbot', 'champion', '--reason', 'quality regression']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^chatbot@champion -> 1 \(rolled back from 2; prm_\w+\)\n$/);
    assert.equal((await direct.resolve('chatbot@champion')).version, 1);
    const [p] = (await direct.listPromotions('chatbot', { alias: 'champion' })).items;
    assert.deepEqual([p?.kind, p?.reason], ['rollback', 'quality regression']);
    const conflict = await berth(['rollback', 'chatbot', 'champion', '--reason', 'again', '--expect', '2']);
    assert.equal(conflict.code, 4);
  });
});
