import { isDigest } from './digest.js';
import { invalid } from './errors.js';
import { aliasProblem, isModelName } from './names.js';

/**
 * What a reference selects (DESIGN §2 "References"):
 *   name            → latest READY version
 *   name:3          → version 3
 *   name@champion   → whatever the alias points at
 *   name@sha256:…   → the version whose manifest has that digest
 * MLflow URIs `models:/name/3`, `models:/name/latest` and `models:/name@alias` map onto the same.
 */
export type Selector = { kind: 'latest' } | { kind: 'version'; version: number } | { kind: 'alias'; alias: string } | { kind: 'digest'; digest: string };

export interface Reference {
  name: string;
  selector: Selector;
}

const MAX_VERSION = 2 ** 31 - 1;

function parseVersionNumber(text: string, ref: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > MAX_VERSION) {
    throw invalid(`invalid reference ${JSON.stringify(ref)}: version must be a positive integer`, { field: 'reference' });
  }
  return Number(text);
}

function checkName(name: string, ref: string): string {
  if (!isModelName(name)) {
    throw invalid(`invalid reference ${JSON.stringify(ref)}: ${JSON.stringify(name)} is not a valid model name`, {
      field: 'reference',
    });
  }
  return name;
}

function aliasSelector(alias: string, ref: string): Selector {
  if (alias === 'latest') return { kind: 'latest' };
  if (alias.startsWith('sha256:')) {
    if (!isDigest(alias)) throw invalid(`invalid reference ${JSON.stringify(ref)}: a digest is sha256: and 64 lowercase hex digits`, { field: 'reference' });
    return { kind: 'digest', digest: alias };
  }
  const problem = aliasProblem(alias);
  if (problem) throw invalid(`invalid reference ${JSON.stringify(ref)}: alias ${JSON.stringify(alias)}: ${problem}`, { field: 'reference' });
  return { kind: 'alias', alias };
}

export function parseReference(ref: unknown): Reference {
  if (typeof ref !== 'string' || ref.length === 0)
    throw invalid('a reference is required, e.g. chatbot, chatbot:3 or chatbot@champion', { field: 'reference' });
  if (ref.startsWith('models:/')) return parseModelsUri(ref);
  const at = ref.indexOf('@');
  if (at !== -1) {
    return { name: checkName(ref.slice(0, at), ref), selector: aliasSelector(ref.slice(at + 1), ref) };
  }
  const colon = ref.lastIndexOf(':');
  if (colon !== -1) {
    const tail = ref.slice(colon + 1);
    const name = checkName(ref.slice(0, colon), ref);
    if (tail === 'latest') return { name, selector: { kind: 'latest' } };
    return { name, selector: { kind: 'version', version: parseVersionNumber(tail, ref) } };
  }
  return { name: checkName(ref, ref), selector: { kind: 'latest' } };
}

/** `models:/name/3`, `models:/name/latest`, `models:/name@alias` (MLflow's model URIs). */
function parseModelsUri(ref: string): Reference {
  const body = ref.slice('models:/'.length);
  const at = body.lastIndexOf('@');
  if (at !== -1) return { name: checkName(body.slice(0, at), ref), selector: aliasSelector(body.slice(at + 1), ref) };
  const slash = body.lastIndexOf('/');
  if (slash === -1)
    throw invalid(`invalid reference ${JSON.stringify(ref)}: expected models:/<name>/<version> or models:/<name>@<alias>`, { field: 'reference' });
  const name = checkName(body.slice(0, slash), ref);
  const tail = body.slice(slash + 1);
  if (tail === 'latest') return { name, selector: { kind: 'latest' } };
  return { name, selector: { kind: 'version', version: parseVersionNumber(tail, ref) } };
}

export function formatReference(ref: Reference): string {
  switch (ref.selector.kind) {
    case 'latest':
      return ref.name;
    case 'version':
      return `${ref.name}:${ref.selector.version}`;
    case 'alias':
      return `${ref.name}@${ref.selector.alias}`;
    case 'digest':
      return `${ref.name}@${ref.selector.digest}`;
  }
}
