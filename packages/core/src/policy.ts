import { isMap, isSeq, type Node } from 'yaml';
import type { PolicyDocument, PolicyGate } from './governance-schemas.js';
import { aliasProblem } from './names.js';
import { validateModelPattern } from './patterns.js';
import { type Entry, got, readYamlDocument, YamlReader } from './yaml-reader.js';

/**
 * Parses and validates a policy (DESIGN §2, issue 9). Read by the registry's one YAML document
 * reader (`yaml-reader.ts`), so every refusal names the line and the key the user has to fix:
 * `details: { line, key }` with key a path such as `gates[1].min`.
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

export { closestName } from './yaml-reader.js';

export function parsePolicy(yamlText: string): PolicyDocument {
  const { reader, root } = readYamlDocument(yamlText, 'policy', (lines, what) => new YamlReader(lines, what));
  if (!isMap(root)) return reader.fail(root, 'policy', 'document must be a mapping with policy, target_alias and gates');
  const keys = reader.entries(root, POLICY_KEYS, '');
  const required = (key: string) => keys.get(key) ?? reader.fail(root, key, 'is required');

  const name = required('policy');
  const policy = reader.string(name, 'policy');
  if (!POLICY_NAME.test(policy)) reader.fail(name.value, 'policy', 'must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');

  const target = required('target_alias');
  const targetAlias = reader.string(target, 'target_alias');
  const aliasIssue = aliasProblem(targetAlias);
  if (aliasIssue) reader.fail(target.value, 'target_alias', `is not a valid alias: ${aliasIssue}`);

  const dataset = optionalString(reader, keys.get('dataset'), 'dataset');

  let requireApprovals = 0;
  const approvals = keys.get('require_approvals');
  if (approvals) {
    requireApprovals = reader.number(approvals, 'require_approvals');
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
      const pattern = reader.string({ keyNode: modelsEntry.keyNode, value: item as Node | null }, key);
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

function optionalString(reader: YamlReader, entry: Entry | undefined, key: string): string | null {
  return entry ? reader.string(entry, key) : null;
}

function optionalNumber(reader: YamlReader, entry: Entry | undefined, key: string): number | null {
  return entry ? reader.number(entry, key) : null;
}

function parseGate(reader: YamlReader, node: Node | null, path: string, listKey: Node): PolicyGate {
  if (!isMap(node)) return reader.fail(node ?? listKey, path, `must be a mapping with name, metric and a threshold${got(node)}`);
  const keys = reader.entries(node, GATE_KEYS, path);
  const requiredKey = (key: string) => keys.get(key) ?? reader.fail(node, `${path}.${key}`, 'is required');
  const nameEntry = requiredKey('name');
  const name = reader.string(nameEntry, `${path}.name`);
  const metricEntry = requiredKey('metric');
  const metric = reader.string(metricEntry, `${path}.metric`);
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
