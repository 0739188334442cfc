import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit, type YAMLMap } from 'yaml';
import { BerthError } from './errors.js';

/**
 * The one reader of the registry's YAML documents (policies, deployments): a document read with
 * node positions (the `yaml` package, docs/decisions/0012), so every refusal names the line and
 * the key the user has to fix — `<what> line N: <key> <problem>` with `details: { line, key }`,
 * key a path such as `gates[1].min`.
 */

/** A key of a mapping and its value node. */
export interface Entry {
  keyNode: Node;
  value: Node | null;
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

/** ` (got …)`: what the document held where something else was needed. */
export function got(value: Node | null): string {
  if (!isScalar(value)) return value ? ` (got a ${isSeq(value) ? 'list' : 'mapping'})` : ' (got nothing)';
  return ` (got ${value.value === null ? 'null' : `${typeof value.value} ${JSON.stringify(value.value)}`})`;
}

/** `a.b[2].c` for the node a visitor is at, from its ancestors. */
function keyPath(ancestors: readonly unknown[], node: unknown): string {
  let path = '';
  const chain = [...ancestors, node];
  chain.forEach((item, i) => {
    if (isPair(item) && isScalar(item.key)) path += `${path ? '.' : ''}${String(item.key.value)}`;
    else if (isSeq(item)) path += `[${item.items.indexOf(chain[i + 1] as (typeof item.items)[number])}]`;
  });
  return path || '(document)';
}

export class YamlReader {
  constructor(
    private readonly lines: LineCounter,
    /** The kind of document, the first word of every refusal (`policy`, `deployment`). */
    private readonly what: string,
  ) {}

  fail(node: Node | null | undefined, key: string, problem: string): never {
    const line = this.lines.linePos(node?.range?.[0] ?? 0).line;
    throw new BerthError('INVALID_ARGUMENT', `${this.what} line ${line}: ${key} ${problem}`, { line, key });
  }

  mapping(node: Node | null, key: string, at: Node, what: string): YAMLMap {
    if (!isMap(node)) this.fail(node ?? at, key, `must be a mapping ${what}${got(node)}`);
    return node;
  }

  /** The pairs of a mapping by key, refusing unknown keys with the closest known one as a hint. */
  entries(map: YAMLMap, allowed: readonly string[], path: string): Map<string, Entry> {
    const found = new Map<string, Entry>();
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

  string(entry: Entry, key: string): string {
    const value = entry.value;
    if (!isScalar(value) || typeof value.value !== 'string' || value.value === '')
      this.fail(value ?? entry.keyNode, key, `must be a non-empty string${got(value)}`);
    return value.value;
  }

  number(entry: Entry, key: string, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number {
    const value = entry.value;
    if (!isScalar(value) || typeof value.value !== 'number' || !Number.isFinite(value.value))
      this.fail(value ?? entry.keyNode, key, `must be a number${got(value)}`);
    if (value.value < min || value.value > max) this.fail(value, key, `must be from ${min} to ${max} (got ${value.value})`);
    return value.value;
  }

  integer(entry: Entry, key: string, min: number, max: number): number {
    const n = this.number(entry, key, min, max);
    if (!Number.isInteger(n)) this.fail(entry.value, key, `must be a whole number (got ${n})`);
    return n;
  }
}

/**
 * Parses `text` as one YAML document of kind `what` and returns its root node with a reader of
 * it. A syntax error is refused at its line. So is a node repeated by `*name`: it can expand to
 * any size, and a stored document read by others should say each value once (cards and RAG
 * configs refuse them the same way).
 */
export function readYamlDocument<R extends YamlReader>(
  text: string,
  what: string,
  makeReader: (lines: LineCounter, what: string) => R,
): { reader: R; root: Node | null } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const reader = makeReader(lines, what);
  const syntax = doc.errors[0];
  if (syntax) {
    const line = lines.linePos(syntax.pos[0]).line;
    throw new BerthError('INVALID_ARGUMENT', `${what} line ${line}: ${syntax.message.split('\n')[0]}`, { line, key: null });
  }
  visit(doc, {
    Alias(_key, node, ancestors) {
      reader.fail(node, keyPath(ancestors, node), 'repeats a node with a YAML alias (*name): aliases are not accepted, write the value out');
    },
  });
  return { reader, root: doc.contents as Node | null };
}
