import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { BerthError } from './errors.js';
import type { PolicyDocument, PolicyGate } from './governance-schemas.js';
import { aliasProblem } from './names.js';
import { validateModelPattern } from './patterns.js';

/**
 * Parses and validates a policy (DESIGN §2, issue 9). The YAML is read as a document with node
 * positions (the `yaml` package, docs/decisions/0012), so every refusal names the line and the
 * key the user has to fix: `details: { line, key }` with key a path such as `gates[1].min`.
 */
const POLICY_KEYS = ['policy', 'target_alias', 'gates', 'dataset', 'require_approvals', 'models'] as const;
const GATE_KEYS = ['name', 'metric', 'min', 'max', 'compare_to', 'max_drop', 'dataset'] as const;
const POLICY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const METRIC_NAME = /^(run:)?[A-Za-z0-9_.\-/ ]{1,250}$/;
/** Far more gates than any policy needs; bounds the work of one evaluation. */
export const MAX_POLICY_GATES = 100;
export const MAX_REQUIRED_APPROVALS = 100;

export function isPolicyName(name: string): boolean {
  return POLICY_NAME.test(name);
}

/** The closest of `candidates` to `name` when it is close enough to be a typo of it. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

class Reader {
  constructor(private readonly lines: LineCounter) {}

  lineOf(node: Node | null | undefined): number {
    return this.lines.linePos(node?.range?.[0] ?? 0).line;
  }

  fail(node: Node | null | undefined, key: string, problem: string): never {
    const line = this.lineOf(node);
    throw new BerthError('INVALID_ARGUMENT', `policy line ${line}: ${key} ${problem}`, { line, key });
  }

  /** The pairs of a mapping by key, refusing unknown keys and non-string keys. */
  entries(map: YAMLMap, allowed: readonly string[], path: string): Map<string, { keyNode: Node; value: Node | null }> {
    const found = new Map<string, { keyNode: Node; value: Node | null }>();
    for (const pair of map.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : '';
      const where = path ? `${path}.${key}` : key;
      if (!allowed.includes(key)) {
        const hint = closestName(key, allowed);
        this.fail(keyNode, where || '(key)', `is not a known key${hint ? ` (did you mean ${hint}?)` : ''}; allowed: ${allowed.join(', ')}`);
      }
      found.set(key, { keyNode, value: (pair.value as Node | null) ?? null });
    }
    return found;
  }

  string(value: Node | null, key: string, keyNode: Node): string {
    if (!isScalar(value) || typeof value.value !== 'string' || value.value === '') this.fail(value ?? keyNode, key, `must be a non-empty string${got(value)}`);
    return value.value;
  }

  number(value: Node | null, key: string, keyNode: Node): number {
    if (!isScalar(value) || typeof value.value !== 'number' || !Number.isFinite(value.value)) this.fail(value ?? keyNode, key, `must be a number${got(value)}`);
    return value.value;
  }
}

function got(value: Node | null): string {
  if (!isScalar(value)) return value ? ` (got a ${isSeq(value) ? 'list' : 'mapping'})` : ' (got nothing)';
  return ` (got ${value.value === null ? 'null' : `${typeof value.value} ${JSON.stringify(value.value)}`})`;
}

export function parsePolicy(yamlText: string): PolicyDocument {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, uniqueKeys: true });
  const reader = new Reader(lines);
  const syntax = doc.errors[0];
  if (syntax) {
    const line = lines.linePos(syntax.pos[0]).line;
    throw new BerthError('INVALID_ARGUMENT', `policy line ${line}: ${syntax.message.split('\n')[0]}`, { line, key: null });
  }
  const root = doc.contents;
  if (!isMap(root)) return reader.fail(root, 'policy', 'document must be a mapping with policy, target_alias and gates');
  const keys = reader.entries(root, POLICY_KEYS, '');
  const required = (key: string) => keys.get(key) ?? reader.fail(root, key, 'is required');

  const name = required('policy');
  const policy = reader.string(name.value, 'policy', name.keyNode);
  if (!POLICY_NAME.test(policy)) reader.fail(name.value, 'policy', 'must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');

  const target = required('target_alias');
  const targetAlias = reader.string(target.value, 'target_alias', target.keyNode);
  const aliasIssue = aliasProblem(targetAlias);
  if (aliasIssue) reader.fail(target.value, 'target_alias', `is not a valid alias: ${aliasIssue}`);

  const dataset = optionalString(reader, keys.get('dataset'), 'dataset');

  let requireApprovals = 0;
  const approvals = keys.get('require_approvals');
  if (approvals) {
    requireApprovals = reader.number(approvals.value, 'require_approvals', approvals.keyNode);
    if (!Number.isInteger(requireApprovals) || requireApprovals < 0 || requireApprovals > MAX_REQUIRED_APPROVALS) {
      reader.fail(approvals.value, 'require_approvals', `must be a whole number from 0 to ${MAX_REQUIRED_APPROVALS}`);
    }
  }

  const models: string[] = [];
  const modelsEntry = keys.get('models');
  if (modelsEntry) {
    const list = modelsEntry.value;
    if (!isSeq(list)) return reader.fail(list ?? modelsEntry.keyNode, 'models', `must be a list of model-name patterns${got(list)}`);
    list.items.forEach((item, i) => {
      const key = `models[${i}]`;
      const pattern = reader.string(item as Node | null, key, modelsEntry.keyNode);
      try {
        models.push(validateModelPattern(pattern, key));
      } catch (error) {
        reader.fail(item as Node, key, `is not a valid model-name pattern: ${(error as Error).message}`);
      }
    });
  }

  const gatesEntry = required('gates');
  if (!isSeq(gatesEntry.value)) return reader.fail(gatesEntry.value ?? gatesEntry.keyNode, 'gates', `must be a list of gates${got(gatesEntry.value)}`);
  if (gatesEntry.value.items.length > MAX_POLICY_GATES) reader.fail(gatesEntry.value, 'gates', `has more than ${MAX_POLICY_GATES} gates`);
  const gates: PolicyGate[] = [];
  const names = new Set<string>();
  gatesEntry.value.items.forEach((item, i) => {
    const gate = parseGate(reader, item as Node | null, `gates[${i}]`, gatesEntry.keyNode);
    if (names.has(gate.name)) reader.fail(item as Node, `gates[${i}].name`, `repeats the gate name ${JSON.stringify(gate.name)}: gate names must be unique`);
    names.add(gate.name);
    gates.push(gate);
  });

  return { policy, target_alias: targetAlias, gates, dataset, require_approvals: requireApprovals, models };
}

function optionalString(reader: Reader, entry: { keyNode: Node; value: Node | null } | undefined, key: string): string | null {
  return entry ? reader.string(entry.value, key, entry.keyNode) : null;
}

function optionalNumber(reader: Reader, entry: { keyNode: Node; value: Node | null } | undefined, key: string): number | null {
  return entry ? reader.number(entry.value, key, entry.keyNode) : null;
}

function parseGate(reader: Reader, node: Node | null, path: string, listKey: Node): PolicyGate {
  if (!isMap(node)) return reader.fail(node ?? listKey, path, `must be a mapping with name, metric and a threshold${got(node)}`);
  const keys = reader.entries(node, GATE_KEYS, path);
  const requiredKey = (key: string) => keys.get(key) ?? reader.fail(node, `${path}.${key}`, 'is required');
  const nameEntry = requiredKey('name');
  const name = reader.string(nameEntry.value, `${path}.name`, nameEntry.keyNode);
  const metricEntry = requiredKey('metric');
  const metric = reader.string(metricEntry.value, `${path}.metric`, metricEntry.keyNode);
  if (!METRIC_NAME.test(metric))
    reader.fail(metricEntry.value, `${path}.metric`, 'must be a metric name (letters, digits, _ . - / and spaces), optionally prefixed with run:');
  const min = optionalNumber(reader, keys.get('min'), `${path}.min`);
  const max = optionalNumber(reader, keys.get('max'), `${path}.max`);
  const compareTo = optionalString(reader, keys.get('compare_to'), `${path}.compare_to`);
  const maxDrop = optionalNumber(reader, keys.get('max_drop'), `${path}.max_drop`);
  const dataset = optionalString(reader, keys.get('dataset'), `${path}.dataset`);
  if (min === null && max === null && compareTo === null) reader.fail(node, path, 'needs a threshold: min, max or compare_to');
  if (min !== null && max !== null && min > max) reader.fail(keys.get('max')?.value, `${path}.max`, `is below min (${min})`);
  if (compareTo !== null) {
    const issue = aliasProblem(compareTo);
    if (issue) reader.fail(keys.get('compare_to')?.value, `${path}.compare_to`, `is not a valid alias: ${issue}`);
  }
  if (maxDrop !== null) {
    if (compareTo === null) reader.fail(keys.get('max_drop')?.keyNode, `${path}.max_drop`, 'needs compare_to: it bounds the drop from the compared version');
    if (maxDrop < 0) reader.fail(keys.get('max_drop')?.value, `${path}.max_drop`, 'must not be negative');
  }
  return { name, metric, min, max, compare_to: compareTo, max_drop: compareTo === null ? null : (maxDrop ?? 0), dataset };
}
