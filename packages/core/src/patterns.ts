import { invalid } from './errors.js';
import { isModelName } from './names.js';

/**
 * Checks a model-name pattern as tokens, policies and imports take it (`chatbot*`, `team/*`):
 * a model name in which `*` stands for any run of characters (checked as a name with each `*`
 * read as one letter).
 */
export function validateModelPattern(pattern: string, field = 'models'): string {
  if (typeof pattern !== 'string' || !isModelName(pattern.replaceAll('*', 'x'))) {
    throw invalid(`${field} pattern ${JSON.stringify(pattern)} is not a model-name pattern: use name characters and * (e.g. 'chatbot*')`, {
      field,
    });
  }
  return pattern;
}

/** Whether `name` matches `pattern`, where `*` matches any run of characters (case-sensitive, whole name). */
export function modelPatternMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const p = parts[i] as string;
    const found = name.indexOf(p, at);
    if (found < 0 || found + p.length > end) return false;
    at = found + p.length;
  }
  return true;
}

/** Whether any of `patterns` matches `name`. */
export function anyPatternMatches(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => modelPatternMatches(p, name));
}
