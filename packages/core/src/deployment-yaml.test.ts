import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeploymentName, parseDeployment } from './deployment-yaml.js';
import { BerthError } from './errors.js';

const CONTRACT_EXAMPLE = `deployment: chatbot
model: cs-bot
strategy: canary
stable: champion
candidate: challenger
steps: [{weight: 10, pause: 60s}, {weight: 50, pause: 120s}, {weight: 100}]
upstreams:
  - {versions: [1, 2], url: http://10.0.0.5:8000/v1}
  - {versions: "*", url: http://10.0.0.6:8000/v1/, adapter: "{model}-{version}", protocol: openai, health: /models, timeout: 30s}
slos:
  error_rate: {max: 0.02, min_samples: 20}
  p99_latency_ms: {max: 800}
  quality: {min_score: 0.7, max_fraction_below: 0.1, window: 200, min_samples: 50}
analysis_interval: 10s
bake: 5m
judge: {url: http://127.0.0.1:9000/v1, model: judge, rubric: rubric:3, sample: 0.2, timeout: 30s}
warmup: {checks: 3, interval: 1s, timeout: 60s}
`;

const BASE = `deployment: d
model: m
stable: champion
upstreams: [{versions: "*", url: "http://127.0.0.1:1/v1"}]
`;

/** BASE with the given strategy and extra top-level lines. */
function doc(strategy: string, extra = ''): string {
  return `${BASE}strategy: ${strategy}\n${extra}`;
}

function refusal(yaml: string): { message: string; line: unknown; key: unknown } {
  try {
    parseDeployment(yaml);
  } catch (error) {
    assert.ok(error instanceof BerthError, String(error));
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return { message: error.message, line: error.details.line, key: error.details.key };
  }
  assert.fail(`accepted:\n${yaml}`);
}

function refuses(yaml: string, key: string, pattern: RegExp, line?: number): void {
  const r = refusal(yaml);
  assert.equal(r.key, key, r.message);
  assert.match(r.message, pattern);
  assert.ok(r.message.startsWith(`deployment line ${r.line}: ${key} `), r.message);
  if (line !== undefined) assert.equal(r.line, line, r.message);
}

describe('parseDeployment', () => {
  it('normalises the contract example: durations in ms, defaults filled in, trailing slash dropped', () => {
    assert.deepEqual(parseDeployment(CONTRACT_EXAMPLE), {
      deployment: 'chatbot',
      model: 'cs-bot',
      strategy: 'canary',
      stable: 'champion',
      candidate: 'challenger',
      steps: [
        { weight: 10, pause_ms: 60_000 },
        { weight: 50, pause_ms: 120_000 },
        { weight: 100, pause_ms: 0 },
      ],
      ab: null,
      upstreams: [
        { versions: [1, 2], url: 'http://10.0.0.5:8000/v1', adapter: null, protocol: 'openai', health: null, timeout_ms: 60_000 },
        { versions: '*', url: 'http://10.0.0.6:8000/v1', adapter: '{model}-{version}', protocol: 'openai', health: '/models', timeout_ms: 30_000 },
      ],
      slos: {
        error_rate: { max: 0.02, min_samples: 20 },
        p99_latency_ms: { max: 800, min_samples: 20 },
        quality: { min_score: 0.7, max_fraction_below: 0.1, window: 200, min_samples: 50 },
      },
      analysis_interval_ms: 10_000,
      bake_ms: 300_000,
      judge: { url: 'http://127.0.0.1:9000/v1', model: 'judge', rubric: 'rubric:3', sample: 0.2, timeout_ms: 30_000 },
      shadow: null,
      warmup: { checks: 3, interval_ms: 1000, timeout_ms: 60_000 },
    });
  });

  it('fills every default for a minimal single deployment', () => {
    assert.deepEqual(parseDeployment(doc('single')), {
      deployment: 'd',
      model: 'm',
      strategy: 'single',
      stable: 'champion',
      candidate: null,
      steps: [],
      ab: null,
      upstreams: [{ versions: '*', url: 'http://127.0.0.1:1/v1', adapter: null, protocol: 'openai', health: null, timeout_ms: 60_000 }],
      slos: { error_rate: null, p99_latency_ms: null, quality: null },
      analysis_interval_ms: 10_000,
      bake_ms: 0,
      judge: null,
      shadow: null,
      warmup: { checks: 3, interval_ms: 1000, timeout_ms: 60_000 },
    });
  });

  it('reads every duration form: ms, s, m, h, decimals and a bare number of seconds', () => {
    const intervals: Array<[string, number]> = [
      ['250ms', 250],
      ['10s', 10_000],
      ['1.5s', 1500],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['2', 2000],
      ['0.2', 200],
      ['"30"', 30_000],
      ['" 3s "', 3000],
    ];
    for (const [text, ms] of intervals) {
      // a quoted bare number is a string with no unit: refused; everything else reads
      if (text === '"30"') {
        refuses(doc('single', `analysis_interval: ${text}\n`), 'analysis_interval', /must be a duration such as 250ms.*\(got string "30"\)/);
        continue;
      }
      assert.equal(parseDeployment(doc('single', `analysis_interval: ${text}\n`)).analysis_interval_ms, ms, text);
    }
    assert.equal(parseDeployment(doc('single', 'bake: 0\n')).bake_ms, 0);
    assert.equal(parseDeployment(doc('single', 'bake: 168h\n')).bake_ms, 168 * 3_600_000);
  });

  it('refuses durations that are malformed, negative, zero where a wait must pass, or over a week', () => {
    refuses(doc('single', 'analysis_interval: 10 minutes\n'), 'analysis_interval', /must be a duration/);
    refuses(doc('single', 'analysis_interval: 10d\n'), 'analysis_interval', /must be a duration/);
    refuses(doc('single', 'analysis_interval: [1]\n'), 'analysis_interval', /must be a duration.*\(got a list\)/);
    refuses(doc('single', 'analysis_interval:\n'), 'analysis_interval', /must be a duration.*\(got null\)/);
    refuses(doc('single', 'bake: -1\n'), 'bake', /not negative/);
    refuses(doc('single', 'analysis_interval: 0s\n'), 'analysis_interval', /must be longer than 0/);
    refuses(doc('single', 'bake: 169h\n'), 'bake', /at most 168h/);
    refuses(doc('single', 'bake: .inf\n'), 'bake', /must be a duration/);
  });

  it('reads blue-green with and without a candidate, with its warmup', () => {
    const bg = parseDeployment(doc('blue-green', 'warmup: {checks: 5, interval: 500ms, timeout: 2m}\n'));
    assert.equal(bg.candidate, null);
    assert.deepEqual(bg.warmup, { checks: 5, interval_ms: 500, timeout_ms: 120_000 });
    assert.equal(parseDeployment(doc('blue-green', 'candidate: green\nwarmup: {}\n')).candidate, 'green');
    assert.equal(parseDeployment(doc('single', 'warmup: {checks: 1}\n')).warmup.checks, 1);
  });

  it('reads shadow with its default sample of 1 and a given one', () => {
    assert.deepEqual(parseDeployment(doc('shadow', 'candidate: challenger\n')).shadow, { sample: 1 });
    assert.deepEqual(parseDeployment(doc('shadow', 'candidate: challenger\nshadow: {sample: 0.25}\n')).shadow, { sample: 0.25 });
    assert.deepEqual(parseDeployment(doc('shadow', 'candidate: challenger\nshadow: {}\n')).shadow, { sample: 1 });
  });

  it("turns ab.split into the two aliases' weights and lower-cases a header key", () => {
    const ab = parseDeployment(doc('ab', 'candidate: challenger\nab: {split: 30, key: header:X-User-Id}\n'));
    assert.deepEqual(ab.ab, { weights: { champion: 70, challenger: 30 }, key: 'header:x-user-id' });
  });

  it('reads ab.weights over several aliases with a body key', () => {
    const ab = parseDeployment(doc('ab', 'candidate: challenger\nab:\n  weights: {champion: 50, challenger: 30, exp-b: 20}\n  key: body:user\n'));
    assert.deepEqual(ab.ab, { weights: { champion: 50, challenger: 30, 'exp-b': 20 }, key: 'body:user' });
    assert.equal(parseDeployment(doc('ab', 'ab: {weights: {a: 100}, key: body:user}\n')).candidate, null);
  });

  it('reads upstream options: http protocol, https URL, every adapter placeholder', () => {
    const [up] = parseDeployment(
      doc('single').replace(
        'upstreams: [{versions: "*", url: "http://127.0.0.1:1/v1"}]',
        'upstreams: [{versions: [3], url: "https://h.example/api//", protocol: http, adapter: "{base}+{adapter}@{model}:{version}", timeout: 250ms}]',
      ),
    ).upstreams;
    assert.deepEqual(up, {
      versions: [3],
      url: 'https://h.example/api',
      adapter: '{base}+{adapter}@{model}:{version}',
      protocol: 'http',
      health: null,
      timeout_ms: 250,
    });
  });

  it('reads slos with defaults for min_samples and the quality window, and a judge with its defaults', () => {
    const d = parseDeployment(
      doc(
        'single',
        'slos:\n  quality: {min_score: 0.5, max_fraction_below: 0}\n  error_rate: {max: 0}\njudge: {url: "https://j/v1", model: j, rubric: "rubric@sha256:' +
          'a'.repeat(64) +
          '"}\n',
      ),
    );
    assert.deepEqual(d.slos, {
      error_rate: { max: 0, min_samples: 20 },
      p99_latency_ms: null,
      quality: { min_score: 0.5, max_fraction_below: 0, window: 100, min_samples: 20 },
    });
    assert.deepEqual(d.judge, { url: 'https://j/v1', model: 'j', rubric: `rubric@sha256:${'a'.repeat(64)}`, sample: 1, timeout_ms: 30_000 });
    assert.deepEqual(parseDeployment(doc('single', 'slos: {}\n')).slos, { error_rate: null, p99_latency_ms: null, quality: null });
  });

  describe('refuses', () => {
    it('YAML syntax errors and duplicate keys, naming the line', () => {
      const syntax = refusal('deployment: [unclosed\n');
      assert.equal(syntax.key, null);
      assert.match(syntax.message, /^deployment line \d+: /);
      const dup = refusal(`${doc('single')}stable: other\n`);
      assert.equal(dup.line, 6);
      assert.match(dup.message, /^deployment line 6: .*unique/i);
    });

    it('YAML aliases anywhere, naming the key path that repeats a node', () => {
      refuses(
        doc('single', 'slos:\n  error_rate: &e {max: 0.1}\n  p99_latency_ms: *e\n'),
        'slos.p99_latency_ms',
        /YAML alias \(\*name\): aliases are not accepted/,
        8,
      );
      refuses(
        doc('single').replace('upstreams: [{versions: "*", url: "http://127.0.0.1:1/v1"}]', 'upstreams: [&u {versions: "*", url: "http://a/v1"}, *u]'),
        'upstreams[1]',
        /YAML alias/,
      );
      refuses('*x\n', '(document)', /YAML alias/);
    });

    it('a document that is not a mapping, and missing required keys', () => {
      refuses('', 'deployment', /document must be a mapping/);
      refuses('- a\n', 'deployment', /document must be a mapping/);
      for (const key of ['deployment', 'model', 'strategy', 'stable', 'upstreams']) {
        const yaml = doc('single')
          .split('\n')
          .filter((line) => !line.startsWith(`${key}:`))
          .join('\n');
        refuses(yaml, key, /is required/, 1);
      }
    });

    it('unknown keys with the closest known one', () => {
      refuses(doc('single', 'stratgy: canary\n'), 'stratgy', /is not a known key \(did you mean strategy\?\); allowed: deployment, model/, 6);
      refuses(doc('single', 'zzzzzzzz: 1\n'), 'zzzzzzzz', /is not a known key; allowed/);
      refuses(doc('single', '[1]: 1\n'), '(key)', /is not a known key/);
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: 10, pasue: 1s}]\n'), 'steps[0].pasue', /did you mean pause\?/);
      refuses(doc('single', 'slos: {quality: {min_score: 1, max_fraction_below: 0, windw: 3}}\n'), 'slos.quality.windw', /did you mean window\?/);
    });

    it('bad names: deployment, model (a reference gets a hint), strategy, aliases', () => {
      refuses(doc('single').replace('deployment: d', 'deployment: "-d"'), 'deployment', /1-128 characters/, 1);
      refuses(doc('single').replace('deployment: d', 'deployment: 12'), 'deployment', /must be a non-empty string \(got number 12\)/);
      refuses(
        doc('single').replace('model: m', 'model: cs-bot@champion'),
        'model',
        /bare model name, not a reference.*write model: cs-bot and name the aliases in stable/,
        2,
      );
      refuses(doc('single').replace('model: m', 'model: cs-bot:3'), 'model', /not a reference/);
      refuses(doc('single').replace('model: m', 'model: a/b/c'), 'model', /is not a valid model name/);
      refuses(doc('canery'), 'strategy', /must be one of single, blue-green, canary, shadow, ab \(got "canery"\); did you mean canary\?/);
      refuses(doc('rolling-update'), 'strategy', /must be one of .*\(got "rolling-update"\)$/);
      refuses(doc('single').replace('stable: champion', 'stable: latest'), 'stable', /is not a valid alias: 'latest' is reserved/);
      refuses(doc('single').replace('stable: champion', 'stable: ""'), 'stable', /non-empty string/);
      refuses(doc('canary', 'candidate: v2\n'), 'candidate', /is not a valid alias/);
    });

    it('keys that belong to another strategy', () => {
      refuses(doc('shadow', 'candidate: c\nsteps: [{weight: 10}]\n'), 'steps', /belongs to the canary strategy, not shadow/);
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: 10}]\nab: {split: 5, key: body:u}\n'), 'ab', /belongs to the ab strategy, not canary/);
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: 10}]\nshadow: {sample: 1}\n'), 'shadow', /belongs to the shadow strategy/);
    });

    it('candidate problems: on single, equal to stable, missing for canary and shadow', () => {
      refuses(doc('single', 'candidate: challenger\n'), 'candidate', /not used by the single strategy/);
      refuses(doc('blue-green', 'candidate: champion\n'), 'candidate', /must differ from stable/);
      refuses(doc('canary', 'steps: [{weight: 10}]\n'), 'candidate', /is required by the canary strategy/);
      refuses(doc('shadow'), 'candidate', /is required by the shadow strategy/);
    });

    it('canary steps: missing, not a list, empty, too many, weights out of range, not whole, decreasing', () => {
      refuses(doc('canary', 'candidate: c\n'), 'steps', /is required/);
      refuses(doc('canary', 'candidate: c\nsteps: 10\n'), 'steps', /must be a list of canary steps/);
      refuses(doc('canary', 'candidate: c\nsteps: []\n'), 'steps', /must hold at least one/);
      refuses(doc('canary', `candidate: c\nsteps: [${Array(101).fill('{weight: 1}').join(', ')}]\n`), 'steps', /more than 100 items/);
      refuses(doc('canary', 'candidate: c\nsteps: [10]\n'), 'steps[0]', /must be a mapping such as \{weight: 10, pause: 60s\} \(got number 10\)/);
      refuses(doc('canary', 'candidate: c\nsteps: [{pause: 1s}]\n'), 'steps[0].weight', /is required/);
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: 101}]\n'), 'steps[0].weight', /must be from 0 to 100 \(got 101\)/);
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: -5}]\n'), 'steps[0].weight', /must be from 0 to 100/);
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: 12.5}]\n'), 'steps[0].weight', /must be a whole number \(got 12.5\)/);
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: ten}]\n'), 'steps[0].weight', /must be a number \(got string "ten"\)/);
      refuses(
        doc('canary', 'candidate: c\nsteps: [{weight: 50}, {weight: 10}]\n'),
        'steps[1].weight',
        /is below the step before \(10 < 50\): canary weights only go up/,
      );
      refuses(doc('canary', 'candidate: c\nsteps: [{weight: 5, pause: soon}]\n'), 'steps[0].pause', /must be a duration/);
    });

    it('ab: missing, not a mapping, no key, bad key, split and weights together, neither, split without candidate', () => {
      refuses(doc('ab', 'candidate: c\n'), 'ab', /is required by the ab strategy/);
      refuses(doc('ab', 'candidate: c\nab: 50\n'), 'ab', /must be a mapping/);
      refuses(doc('ab', 'candidate: c\nab: {split: 50}\n'), 'ab.key', /is required: header:<name> or body:<field>/);
      refuses(doc('ab', 'candidate: c\nab: {split: 50, key: cookie:uid}\n'), 'ab.key', /must be header:<name> or body:<field> \(got "cookie:uid"\)/);
      refuses(doc('ab', 'candidate: c\nab: {split: 50, key: user}\n'), 'ab.key', /must be header:<name> or body:<field>/);
      refuses(doc('ab', 'candidate: c\nab: {split: 50, key: "body:"}\n'), 'ab.key', /must be header:<name> or body:<field>/);
      refuses(doc('ab', 'candidate: c\nab: {split: 50, key: "header:x user"}\n'), 'ab.key', /not an HTTP header name/);
      refuses(doc('ab', 'candidate: c\nab: {split: 50, weights: {champion: 100}, key: body:u}\n'), 'ab.weights', /cannot be given with ab.split/);
      refuses(doc('ab', 'candidate: c\nab: {key: body:u}\n'), 'ab', /needs split .* or weights/);
      refuses(doc('ab', 'ab: {split: 50, key: body:u}\n'), 'ab.split', /needs candidate/);
      refuses(doc('ab', 'candidate: c\nab: {split: 150, key: body:u}\n'), 'ab.split', /from 0 to 100/);
    });

    it('ab.weights: not summing to 100, bad aliases, bad values, too many, candidate not among them', () => {
      refuses(doc('ab', 'ab: {weights: {champion: 50, challenger: 40}, key: body:u}\n'), 'ab.weights', /sum to 90, not 100/);
      refuses(doc('ab', 'ab: {weights: [champion], key: body:u}\n'), 'ab.weights', /must be a mapping of alias: percent \(got a list\)/);
      refuses(doc('ab', 'ab: {weights: {latest: 100}, key: body:u}\n'), 'ab.weights.latest', /is not a valid alias/);
      refuses(doc('ab', 'ab: {weights: {[x]: 100}, key: body:u}\n'), 'ab.weights.(key)', /is not a valid alias/);
      refuses(doc('ab', 'ab: {weights: {a: half, b: 50}, key: body:u}\n'), 'ab.weights.a', /must be a number/);
      refuses(doc('ab', 'ab: {weights: {a: 101}, key: body:u}\n'), 'ab.weights.a', /from 0 to 100/);
      const many = Array.from({ length: 101 }, (_, i) => `a${i}: 0`).join(', ');
      refuses(doc('ab', `ab: {weights: {${many}}, key: body:u}\n`), 'ab.weights', /more than 100 variants/);
      refuses(doc('ab', 'candidate: c\nab: {weights: {champion: 100}, key: body:u}\n'), 'candidate', /must be one of the ab.weights aliases \(champion\)/);
    });

    it('upstreams: not a list, empty, bad items, missing keys, versions neither "*" nor positive integers', () => {
      const withUpstreams = (text: string) => doc('single').replace('upstreams: [{versions: "*", url: "http://127.0.0.1:1/v1"}]', `upstreams: ${text}`);
      refuses(withUpstreams('http://a/v1'), 'upstreams', /must be a list of upstreams/);
      refuses(withUpstreams('[]'), 'upstreams', /at least one/);
      refuses(withUpstreams('[http://a/v1]'), 'upstreams[0]', /must be a mapping/);
      refuses(withUpstreams('[{url: "http://a/v1"}]'), 'upstreams[0].versions', /is required/);
      refuses(withUpstreams('[{versions: "*"}]'), 'upstreams[0].url', /is required/);
      refuses(
        withUpstreams('[{versions: all, url: "http://a/v1"}]'),
        'upstreams[0].versions',
        /must be "\*" or a list of version numbers such as \[1, 2\] \(got string "all"\)/,
      );
      refuses(withUpstreams('[{versions: [], url: "http://a/v1"}]'), 'upstreams[0].versions', /got an empty list/);
      refuses(withUpstreams('[{versions: [1, 0], url: "http://a/v1"}]'), 'upstreams[0].versions[1]', /from 1 to 2147483647/);
      refuses(withUpstreams('[{versions: [1.5], url: "http://a/v1"}]'), 'upstreams[0].versions[0]', /whole number/);
      refuses(withUpstreams('[{versions: ["2"], url: "http://a/v1"}]'), 'upstreams[0].versions[0]', /must be a number/);
      refuses(withUpstreams('[{versions: {a: 1}, url: "http://a/v1"}]'), 'upstreams[0].versions', /\(got a mapping\)/);
    });

    it('upstream URLs that are not http(s), not URLs, carry credentials or a query', () => {
      const withUrl = (url: string) => doc('single').replace('"http://127.0.0.1:1/v1"', url);
      refuses(withUrl('"ftp://a/v1"'), 'upstreams[0].url', /must be an http or https URL \(got ftp\)/, 4);
      refuses(withUrl('"file:///etc/passwd"'), 'upstreams[0].url', /must be an http or https URL/);
      refuses(withUrl('"not a url"'), 'upstreams[0].url', /is not a URL \(got "not a url"\)/);
      refuses(withUrl('"http://u:p@a/v1"'), 'upstreams[0].url', /must not carry credentials/);
      refuses(withUrl('"http://a/v1?x=1"'), 'upstreams[0].url', /must not have a query or fragment/);
      refuses(withUrl('"http://a/v1#f"'), 'upstreams[0].url', /must not have a query or fragment/);
      refuses(withUrl('"http://a/v1?"'), 'upstreams[0].url', /must not have a query or fragment/);
      refuses(withUrl('8080'), 'upstreams[0].url', /non-empty string \(got number 8080\)/);
    });

    it('upstream adapter, protocol, health and timeout problems', () => {
      const withExtra = (extra: string) => doc('single').replace('url: "http://127.0.0.1:1/v1"}', `url: "http://127.0.0.1:1/v1", ${extra}}`);
      refuses(withExtra('adapter: "{name}-lora"'), 'upstreams[0].adapter', /uses \{name\}, which is not a placeholder/);
      refuses(withExtra('adapter: ""'), 'upstreams[0].adapter', /non-empty string/);
      refuses(withExtra('protocol: grpc'), 'upstreams[0].protocol', /must be openai or http \(got "grpc"\)/);
      refuses(withExtra('health: models'), 'upstreams[0].health', /must be a path below url starting with \//);
      refuses(withExtra('timeout: 0'), 'upstreams[0].timeout', /longer than 0/);
      refuses(withExtra('tiemout: 1s'), 'upstreams[0].tiemout', /did you mean timeout\?/);
    });

    it('slos: not a mapping, missing max, out of range thresholds and fractions, min_samples over the window', () => {
      refuses(doc('single', 'slos: [error_rate]\n'), 'slos', /must be a mapping of error_rate, p99_latency_ms and quality/);
      refuses(doc('single', 'slos: {error_rate: 0.02}\n'), 'slos.error_rate', /must be a mapping such as \{max: 0.02, min_samples: 20\}/);
      refuses(doc('single', 'slos: {error_rate: {min_samples: 5}}\n'), 'slos.error_rate.max', /is required/);
      refuses(doc('single', 'slos: {error_rate: {max: 2}}\n'), 'slos.error_rate.max', /from 0 to 1 \(got 2\)/);
      refuses(doc('single', 'slos: {error_rate: {max: 0.1, min_samples: 0}}\n'), 'slos.error_rate.min_samples', /from 1 to/);
      refuses(doc('single', 'slos: {p99_latency_ms: {max: -1}}\n'), 'slos.p99_latency_ms.max', /from 0 to/);
      refuses(doc('single', 'slos: {quality: {max_fraction_below: 0.1}}\n'), 'slos.quality.min_score', /is required/);
      refuses(doc('single', 'slos: {quality: {min_score: 0.5}}\n'), 'slos.quality.max_fraction_below', /is required/);
      refuses(doc('single', 'slos: {quality: {min_score: 1.5, max_fraction_below: 0.1}}\n'), 'slos.quality.min_score', /from 0 to 1/);
      refuses(doc('single', 'slos: {quality: {min_score: 0.5, max_fraction_below: -0.1}}\n'), 'slos.quality.max_fraction_below', /from 0 to 1/);
      refuses(doc('single', 'slos: {quality: {min_score: 0.5, max_fraction_below: 0.1, window: 0}}\n'), 'slos.quality.window', /from 1 to 100000/);
      refuses(
        doc('single', 'slos: {quality: {min_score: 0.5, max_fraction_below: 0.1, window: 20, min_samples: 50}}\n'),
        'slos.quality.min_samples',
        /\(50\) is over window \(20\)/,
      );
      refuses(
        doc('single', 'slos: {quality: {min_score: 0.5, max_fraction_below: 0.1, window: 10}}\n'),
        'slos.quality.min_samples',
        /\(20\) is over window \(10\)/,
      );
      refuses(doc('single', 'slos: {quality: 0.7}\n'), 'slos.quality', /must be a mapping such as/);
    });

    it('judge: not a mapping, missing keys, a rubric that is not a pin, bad sample and URL', () => {
      const judge = (text: string) => doc('single', `judge: ${text}\n`);
      refuses(judge('http://j/v1'), 'judge', /must be a mapping/);
      refuses(judge('{model: j, rubric: r:1}'), 'judge.url', /is required/);
      refuses(judge('{url: "http://j/v1", rubric: r:1}'), 'judge.model', /is required/);
      refuses(judge('{url: "http://j/v1", model: j}'), 'judge.rubric', /is required/);
      refuses(
        judge('{url: "http://j/v1", model: j, rubric: rubric}'),
        'judge.rubric',
        /must pin a prompt version as name:N or name@sha256:<digest>.*a bare name/,
      );
      refuses(judge('{url: "http://j/v1", model: j, rubric: rubric@prod}'), 'judge.rubric', /must pin a prompt version.*@prod is an alias/);
      refuses(judge('{url: "http://j/v1", model: j, rubric: "rubric:x"}'), 'judge.rubric', /must pin a prompt version/);
      refuses(judge('{url: "http://j/v1", model: j, rubric: r:1, sample: 2}'), 'judge.sample', /from 0 to 1/);
      refuses(judge('{url: "http://j/v1", model: j, rubric: r:1, timeout: 0ms}'), 'judge.timeout', /longer than 0/);
      refuses(judge('{url: "tcp://j", model: j, rubric: r:1}'), 'judge.url', /http or https/);
    });

    it('shadow and warmup problems', () => {
      refuses(doc('shadow', 'candidate: c\nshadow: 0.5\n'), 'shadow', /must be a mapping such as \{sample: 0.5\}/);
      refuses(doc('shadow', 'candidate: c\nshadow: {sample: 1.5}\n'), 'shadow.sample', /from 0 to 1/);
      refuses(doc('shadow', 'candidate: c\nshadow: {rate: 1}\n'), 'shadow.rate', /is not a known key/);
      refuses(doc('blue-green', 'warmup: 3\n'), 'warmup', /must be a mapping/);
      refuses(doc('blue-green', 'warmup: {checks: 0}\n'), 'warmup.checks', /from 1 to 1000/);
      refuses(doc('blue-green', 'warmup: {interval: 0}\n'), 'warmup.interval', /longer than 0/);
      refuses(doc('blue-green', 'warmup: {timeout: forever}\n'), 'warmup.timeout', /must be a duration/);
    });
  });
});

describe('isDeploymentName', () => {
  it('accepts 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit', () => {
    for (const name of ['chatbot', 'a', 'cs-bot.v2_b', 'X'.repeat(128), '9lives']) assert.equal(isDeploymentName(name), true, name);
  });
  it('refuses references, slashes, leading punctuation, empty and over-long names', () => {
    for (const name of ['', 'cs-bot@champion', 'cs-bot:3', 'org/bot', '-x', '.x', '_x', 'X'.repeat(129), 'a b'])
      assert.equal(isDeploymentName(name), false, name);
  });
});
