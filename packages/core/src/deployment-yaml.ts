import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { parsePin } from './bundles.js';
import {
  DEPLOYMENT_STRATEGIES,
  type CanaryStep,
  type DeploymentDocument,
  type DeploymentStrategy,
  type DeploymentUpstream,
  type Judge,
  type Slos,
} from './deployment-schemas.js';
import { aliasProblem, isModelName } from './names.js';
import { closestName, type Entry, got, readYamlDocument, YamlReader } from './yaml-reader.js';

/**
 * Parses and normalises a deployment document (DESIGN §2 "Deployments and the gateway", issue
 * 12). Read like policies: a YAML document with node positions, so every refusal is
 * `deployment line N: <key> <problem>` with `details: { line, key }`. The result has every
 * optional key filled in (null or its default) and every duration in milliseconds, so the
 * registry stores, and every gateway routes by, one unambiguous shape.
 */
const TOP_KEYS = [
  'deployment',
  'model',
  'strategy',
  'stable',
  'candidate',
  'steps',
  'ab',
  'upstreams',
  'slos',
  'analysis_interval',
  'bake',
  'judge',
  'shadow',
  'warmup',
] as const;
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const ADAPTER_PLACEHOLDERS = ['model', 'version', 'adapter', 'base'];
const MAX_VERSION = 2 ** 31 - 1;
/** Bounds on lists: a report carries at most 100 versions, and no rollout needs more steps. */
const MAX_ITEMS = 100;
/** Node timers overflow past 2^31-1 ms (24.8 days); a week is longer than any pause or bake anyone watches. */
const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;
const MAX_QUALITY_WINDOW = 100_000;
const MAX_WARMUP_CHECKS = 1000;
const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Keys only one strategy reads: given with another, they would be silently ignored. `warmup` is
 * not among them: every strategy's document carries it (blue-green reads it today).
 */
const STRATEGY_KEYS: Record<string, DeploymentStrategy> = { steps: 'canary', ab: 'ab', shadow: 'shadow' };

export function isDeploymentName(name: string): boolean {
  return DEPLOYMENT_NAME.test(name);
}

/** The shared document reader, with the value kinds only deployments have. */
class Reader extends YamlReader {
  /** `250ms`, `10s`, `5m`, `1h`, or a number of seconds; rounded to whole milliseconds. */
  duration(entry: Entry, key: string, positive: boolean): number {
    const value = entry.value;
    const usage = `must be a duration such as 250ms, 10s, 5m or 1h, or a number of seconds`;
    let ms: number;
    if (isScalar(value) && typeof value.value === 'number' && Number.isFinite(value.value)) ms = Math.round(value.value * 1000);
    else {
      const m = isScalar(value) && typeof value.value === 'string' ? DURATION.exec(value.value.trim()) : null;
      if (!m) return this.fail(value ?? entry.keyNode, key, `${usage}${got(value)}`);
      ms = Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
    }
    if (ms < 0) this.fail(value, key, `${usage}, not negative`);
    if (positive && ms === 0) this.fail(value, key, 'must be longer than 0');
    if (ms > MAX_DURATION_MS) this.fail(value, key, 'must be at most 168h (a week)');
    return ms;
  }

  alias(entry: Entry, key: string): string {
    const alias = this.string(entry, key);
    const problem = aliasProblem(alias);
    if (problem) this.fail(entry.value, key, `is not a valid alias: ${problem}`);
    return alias;
  }

  /** An http(s) base URL the gateway appends paths to; a trailing `/` is dropped so `url + '/chat/completions'` is right. */
  url(entry: Entry, key: string): string {
    const text = this.string(entry, key);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return this.fail(entry.value, key, `is not a URL (got ${JSON.stringify(text)}): use http://host:port/path`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') this.fail(entry.value, key, `must be an http or https URL (got ${url.protocol.slice(0, -1)})`);
    if (url.username || url.password) this.fail(entry.value, key, 'must not carry credentials: the document is stored and shown to every reader');
    if (url.search || url.hash || text.includes('?') || text.includes('#'))
      this.fail(entry.value, key, 'must not have a query or fragment: the gateway appends paths to it');
    return text.replace(/\/+$/, '');
  }
}

export function parseDeployment(yamlText: string): DeploymentDocument {
  const { reader: r, root } = readYamlDocument(yamlText, 'deployment', (lines, what) => new Reader(lines, what));
  if (!isMap(root)) return r.fail(root, 'deployment', 'document must be a mapping with deployment, model, strategy, stable and upstreams');
  const keys = r.entries(root, TOP_KEYS, '');
  const required = (key: string) => keys.get(key) ?? r.fail(root, key, 'is required');

  const deployment = r.string(required('deployment'), 'deployment');
  if (!isDeploymentName(deployment))
    r.fail(keys.get('deployment')?.value, 'deployment', 'must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');

  const modelEntry = required('model');
  const model = r.string(modelEntry, 'model');
  const refAt = model.search(/[@:]/);
  if (refAt !== -1) {
    const bare = model.slice(0, refAt);
    r.fail(
      modelEntry.value,
      'model',
      `must be a bare model name, not a reference (got ${JSON.stringify(model)}): write model: ${bare} and name the aliases in stable and candidate`,
    );
  }
  if (!isModelName(model)) r.fail(modelEntry.value, 'model', `is not a valid model name (got ${JSON.stringify(model)})`);

  const strategyEntry = required('strategy');
  const strategyText = r.string(strategyEntry, 'strategy');
  if (!(DEPLOYMENT_STRATEGIES as readonly string[]).includes(strategyText)) {
    const hint = closestName(strategyText, DEPLOYMENT_STRATEGIES);
    r.fail(
      strategyEntry.value,
      'strategy',
      `must be one of ${DEPLOYMENT_STRATEGIES.join(', ')} (got ${JSON.stringify(strategyText)})${hint ? `; did you mean ${hint}?` : ''}`,
    );
  }
  const strategy = strategyText as DeploymentStrategy;
  for (const [key, owner] of Object.entries(STRATEGY_KEYS)) {
    const entry = keys.get(key);
    if (entry && owner !== strategy) r.fail(entry.keyNode, key, `belongs to the ${owner} strategy, not ${strategy}: remove it or change strategy`);
  }

  const stable = r.alias(required('stable'), 'stable');
  const candidateEntry = keys.get('candidate');
  const candidate = candidateEntry ? r.alias(candidateEntry, 'candidate') : null;
  if (candidateEntry && strategy === 'single')
    r.fail(candidateEntry.keyNode, 'candidate', 'is not used by the single strategy: remove it, or use canary, blue-green, shadow or ab');
  if (candidateEntry && candidate === stable) r.fail(candidateEntry.value, 'candidate', `must differ from stable (both are ${JSON.stringify(stable)})`);
  if (candidate === null && (strategy === 'canary' || strategy === 'shadow'))
    r.fail(root, 'candidate', `is required by the ${strategy} strategy: the alias under test`);

  let steps: CanaryStep[] = [];
  if (strategy === 'canary') steps = parseSteps(r, required('steps'));

  const abEntry = keys.get('ab');
  let ab: DeploymentDocument['ab'] = null;
  if (strategy === 'ab')
    ab = parseAb(
      r,
      abEntry ?? r.fail(root, 'ab', 'is required by the ab strategy: {split: N, key: header:<name>} or {weights: {…}, key: …}'),
      stable,
      candidate,
      candidateEntry,
    );

  const upstreams = parseUpstreams(r, required('upstreams'));
  const slosEntry = keys.get('slos');
  const slos = slosEntry ? parseSlos(r, slosEntry) : { error_rate: null, p99_latency_ms: null, quality: null };

  const interval = keys.get('analysis_interval');
  const analysisIntervalMs = interval ? r.duration(interval, 'analysis_interval', true) : 10_000;
  const bake = keys.get('bake');
  const bakeMs = bake ? r.duration(bake, 'bake', false) : 0;
  const judgeEntry = keys.get('judge');
  const judge = judgeEntry ? parseJudge(r, judgeEntry) : null;

  let shadow: DeploymentDocument['shadow'] = null;
  if (strategy === 'shadow') {
    const entry = keys.get('shadow');
    shadow = { sample: 1 };
    if (entry) {
      const fields = r.entries(r.mapping(entry.value, 'shadow', entry.keyNode, 'such as {sample: 0.5}'), ['sample'], 'shadow');
      const sample = fields.get('sample');
      if (sample) shadow.sample = r.number(sample, 'shadow.sample', 0, 1);
    }
  }

  const warmup = { checks: 3, interval_ms: 1000, timeout_ms: 60_000 };
  const warmupEntry = keys.get('warmup');
  if (warmupEntry) {
    const fields = r.entries(
      r.mapping(warmupEntry.value, 'warmup', warmupEntry.keyNode, 'such as {checks: 3, interval: 1s, timeout: 60s}'),
      ['checks', 'interval', 'timeout'],
      'warmup',
    );
    const checks = fields.get('checks');
    if (checks) warmup.checks = r.integer(checks, 'warmup.checks', 1, MAX_WARMUP_CHECKS);
    const every = fields.get('interval');
    if (every) warmup.interval_ms = r.duration(every, 'warmup.interval', true);
    const timeout = fields.get('timeout');
    if (timeout) warmup.timeout_ms = r.duration(timeout, 'warmup.timeout', true);
  }

  return {
    deployment,
    model,
    strategy,
    stable,
    candidate,
    steps,
    ab,
    upstreams,
    slos,
    analysis_interval_ms: analysisIntervalMs,
    bake_ms: bakeMs,
    judge,
    shadow,
    warmup,
  };
}

function list(r: Reader, entry: Entry, key: string, what: string): Node[] {
  const value = entry.value;
  if (!isSeq(value)) return r.fail(value ?? entry.keyNode, key, `must be a list of ${what}${got(value)}`);
  if (value.items.length === 0) r.fail(value, key, `must hold at least one of ${what}`);
  if (value.items.length > MAX_ITEMS) r.fail(value, key, `has more than ${MAX_ITEMS} items`);
  return value.items as Node[];
}

function parseSteps(r: Reader, entry: Entry): CanaryStep[] {
  const steps: CanaryStep[] = [];
  list(r, entry, 'steps', 'canary steps such as {weight: 10, pause: 60s}').forEach((item, i) => {
    const path = `steps[${i}]`;
    const fields = r.entries(r.mapping(item, path, entry.keyNode, 'such as {weight: 10, pause: 60s}'), ['weight', 'pause'], path);
    const weightEntry = fields.get('weight') ?? r.fail(item, `${path}.weight`, 'is required: the candidate share in percent, 0 to 100');
    const weight = r.integer(weightEntry, `${path}.weight`, 0, 100);
    const before = steps[i - 1];
    if (before && weight < before.weight)
      r.fail(weightEntry.value, `${path}.weight`, `is below the step before (${weight} < ${before.weight}): canary weights only go up`);
    const pause = fields.get('pause');
    steps.push({ weight, pause_ms: pause ? r.duration(pause, `${path}.pause`, false) : 0 });
  });
  return steps;
}

function parseAb(r: Reader, entry: Entry, stable: string, candidate: string | null, candidateEntry: Entry | undefined): NonNullable<DeploymentDocument['ab']> {
  const map = r.mapping(entry.value, 'ab', entry.keyNode, 'such as {split: 50, key: header:x-user-id}');
  const fields = r.entries(map, ['split', 'weights', 'key'], 'ab');
  const keyEntry = fields.get('key') ?? r.fail(map, 'ab.key', 'is required: header:<name> or body:<field>, the request value that keeps a user on one variant');
  const key = parseAbKey(r, keyEntry);
  const split = fields.get('split');
  const weightsEntry = fields.get('weights');
  if (split && weightsEntry) r.fail(weightsEntry.keyNode, 'ab.weights', 'cannot be given with ab.split: use split for two variants, weights for more');
  if (split) {
    if (candidate === null) return r.fail(split.keyNode, 'ab.split', "is the candidate's share: it needs candidate (or use ab.weights)");
    const s = r.integer(split, 'ab.split', 0, 100);
    return { weights: { [stable]: 100 - s, [candidate]: s }, key };
  }
  if (!weightsEntry) return r.fail(map, 'ab', 'needs split (the candidate percent) or weights (alias: percent, summing to 100)');
  const weightsMap = r.mapping(weightsEntry.value, 'ab.weights', weightsEntry.keyNode, 'of alias: percent');
  if (weightsMap.items.length > MAX_ITEMS) r.fail(weightsMap, 'ab.weights', `has more than ${MAX_ITEMS} variants`);
  const weights: Record<string, number> = {};
  let sum = 0;
  for (const pair of weightsMap.items) {
    const aliasNode = pair.key as Node;
    const alias = isScalar(aliasNode) ? String(aliasNode.value) : '';
    const problem = aliasProblem(alias);
    if (problem) r.fail(aliasNode, `ab.weights.${alias || '(key)'}`, `is not a valid alias: ${problem}`);
    const w = r.integer({ keyNode: aliasNode, value: (pair.value as Node | null) ?? null }, `ab.weights.${alias}`, 0, 100);
    weights[alias] = w;
    sum += w;
  }
  if (sum !== 100) r.fail(weightsMap, 'ab.weights', `sum to ${sum}, not 100`);
  if (candidate !== null && !(candidate in weights))
    r.fail(candidateEntry?.value, 'candidate', `must be one of the ab.weights aliases (${Object.keys(weights).join(', ')})`);
  return { weights, key };
}

function parseAbKey(r: Reader, entry: Entry): string {
  const key = r.string(entry, 'ab.key');
  const colon = key.indexOf(':');
  const source = key.slice(0, colon);
  const name = key.slice(colon + 1);
  if (colon === -1 || (source !== 'header' && source !== 'body') || name === '')
    r.fail(entry.value, 'ab.key', `must be header:<name> or body:<field> (got ${JSON.stringify(key)})`);
  if (source === 'header') {
    if (!HEADER_NAME.test(name)) r.fail(entry.value, 'ab.key', `names ${JSON.stringify(name)}, which is not an HTTP header name`);
    return `header:${name.toLowerCase()}`;
  }
  return key;
}

function parseUpstreams(r: Reader, entry: Entry): DeploymentUpstream[] {
  return list(r, entry, 'upstreams', 'upstreams such as {versions: "*", url: http://host:8000/v1}').map((item, i) => {
    const path = `upstreams[${i}]`;
    const map = r.mapping(item, path, entry.keyNode, 'such as {versions: "*", url: http://host:8000/v1}');
    const fields = r.entries(map, ['versions', 'url', 'adapter', 'protocol', 'health', 'timeout'], path);
    const need = (key: string) => fields.get(key) ?? r.fail(map, `${path}.${key}`, 'is required');
    const versions = parseVersions(r, need('versions'), `${path}.versions`);
    const url = r.url(need('url'), `${path}.url`);

    const adapterEntry = fields.get('adapter');
    let adapter: string | null = null;
    if (adapterEntry) {
      adapter = r.string(adapterEntry, `${path}.adapter`);
      for (const [, placeholder] of adapter.matchAll(/\{([^}]*)\}/g)) {
        if (!ADAPTER_PLACEHOLDERS.includes(placeholder as string))
          r.fail(adapterEntry.value, `${path}.adapter`, `uses {${placeholder}}, which is not a placeholder: use {model}, {version}, {adapter} or {base}`);
      }
    }

    const protocolEntry = fields.get('protocol');
    const protocol = protocolEntry ? r.string(protocolEntry, `${path}.protocol`) : 'openai';
    if (protocol !== 'openai' && protocol !== 'http')
      r.fail(protocolEntry?.value, `${path}.protocol`, `must be openai or http (got ${JSON.stringify(protocol)})`);

    const healthEntry = fields.get('health');
    const health = healthEntry ? r.string(healthEntry, `${path}.health`) : null;
    if (health !== null && !health.startsWith('/'))
      r.fail(healthEntry?.value, `${path}.health`, `must be a path below url starting with / (got ${JSON.stringify(health)})`);

    const timeout = fields.get('timeout');
    const timeoutMs = timeout ? r.duration(timeout, `${path}.timeout`, true) : 60_000;
    return { versions, url, adapter, protocol, health, timeout_ms: timeoutMs };
  });
}

function parseVersions(r: Reader, entry: Entry, key: string): number[] | '*' {
  const value = entry.value;
  const usage = 'must be "*" or a list of version numbers such as [1, 2]';
  if (isScalar(value) && value.value === '*') return '*';
  if (!isSeq(value)) return r.fail(value ?? entry.keyNode, key, `${usage}${got(value)}`);
  if (value.items.length === 0) r.fail(value, key, `${usage} (got an empty list)`);
  return value.items.map((item, i) => r.integer({ keyNode: value, value: item as Node }, `${key}[${i}]`, 1, MAX_VERSION));
}

function parseSlos(r: Reader, entry: Entry): Slos {
  const map = r.mapping(entry.value, 'slos', entry.keyNode, 'of error_rate, p99_latency_ms and quality');
  const fields = r.entries(map, ['error_rate', 'p99_latency_ms', 'quality'], 'slos');
  const slos: Slos = { error_rate: null, p99_latency_ms: null, quality: null };

  const threshold = (key: 'error_rate' | 'p99_latency_ms', max: number, example: string) => {
    const e = fields.get(key);
    if (!e) return null;
    const path = `slos.${key}`;
    const m = r.mapping(e.value, path, e.keyNode, `such as ${example}`);
    const f = r.entries(m, ['max', 'min_samples'], path);
    const maxEntry = f.get('max') ?? r.fail(m, `${path}.max`, 'is required');
    const minSamples = f.get('min_samples');
    return {
      max: r.number(maxEntry, `${path}.max`, 0, max),
      min_samples: minSamples ? r.integer(minSamples, `${path}.min_samples`, 1, MAX_QUALITY_WINDOW) : 20,
    };
  };
  slos.error_rate = threshold('error_rate', 1, '{max: 0.02, min_samples: 20}');
  slos.p99_latency_ms = threshold('p99_latency_ms', MAX_DURATION_MS, '{max: 800, min_samples: 20}');

  const q = fields.get('quality');
  if (q) {
    const m = r.mapping(q.value, 'slos.quality', q.keyNode, 'such as {min_score: 0.7, max_fraction_below: 0.1, window: 200, min_samples: 50}');
    const f = r.entries(m, ['min_score', 'max_fraction_below', 'window', 'min_samples'], 'slos.quality');
    const need = (key: string) => f.get(key) ?? r.fail(m, `slos.quality.${key}`, 'is required');
    const window = f.get('window');
    const minSamples = f.get('min_samples');
    const quality = {
      min_score: r.number(need('min_score'), 'slos.quality.min_score', 0, 1),
      max_fraction_below: r.number(need('max_fraction_below'), 'slos.quality.max_fraction_below', 0, 1),
      window: window ? r.integer(window, 'slos.quality.window', 1, MAX_QUALITY_WINDOW) : 100,
      min_samples: minSamples ? r.integer(minSamples, 'slos.quality.min_samples', 1, MAX_QUALITY_WINDOW) : 20,
    };
    if (quality.min_samples > quality.window)
      r.fail(minSamples?.value ?? m, 'slos.quality.min_samples', `(${quality.min_samples}) is over window (${quality.window}): the check could never conclude`);
    slos.quality = quality;
  }
  return slos;
}

function parseJudge(r: Reader, entry: Entry): Judge {
  const map = r.mapping(entry.value, 'judge', entry.keyNode, 'such as {url: http://host/v1, model: judge, rubric: rubric:3}');
  const f = r.entries(map, ['url', 'model', 'rubric', 'sample', 'timeout'], 'judge');
  const need = (key: string) => f.get(key) ?? r.fail(map, `judge.${key}`, 'is required');
  const url = r.url(need('url'), 'judge.url');
  const model = r.string(need('model'), 'judge.model');
  const rubricEntry = need('rubric');
  const rubric = r.string(rubricEntry, 'judge.rubric');
  try {
    parsePin(rubric, 'rubric');
  } catch (error) {
    r.fail(rubricEntry.value, 'judge.rubric', `must pin a prompt version as name:N or name@sha256:<digest>: ${(error as Error).message}`);
  }
  const sample = f.get('sample');
  const timeout = f.get('timeout');
  return {
    url,
    model,
    rubric,
    sample: sample ? r.number(sample, 'judge.sample', 0, 1) : 1,
    timeout_ms: timeout ? r.duration(timeout, 'judge.timeout', true) : 30_000,
  };
}
