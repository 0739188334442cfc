// Which test files `npm test` runs: every *.test.ts under packages/*/src and e2e/ (Node 20's
// `--test` takes no globs), narrowed by the `npm test -- <substring>...` filters.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

function findTests(root, dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(root, p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p).split(sep).join('/'));
  }
  return out;
}

/** Every test file, as sorted repository-relative paths with '/'. */
export function allTests(root) {
  const dirs = readdirSync(join(root, 'packages')).map((pkg) => join(root, 'packages', pkg, 'src'));
  return [...dirs, join(root, 'e2e')].flatMap((d) => findTests(root, d)).sort();
}

/** The files whose path contains one of the filters (all of them without filters). */
export function selectTests(all, filters) {
  return filters.length ? all.filter((f) => filters.some((s) => f.includes(s))) : all;
}

/** Whether the filters ask for the MLflow compatibility suite (pytest, not a *.test.ts file). */
export function wantsCompat(filters) {
  return filters.length === 0 || filters.some((f) => 'e2e/compat/mlflow/'.includes(f) || f.includes('compat'));
}

/** Whether the filters ask for the Hub compatibility suite (pytest with huggingface_hub). */
export function wantsHubCompat(filters) {
  return filters.length === 0 || filters.some((f) => 'e2e/compat/hub/'.includes(f) || f.includes('compat'));
}

/** Whether the filters ask for the schemathesis run over the native API (e2e/fuzz/, not a *.test.ts file). */
export function wantsSchemathesis(filters) {
  return filters.length === 0 || filters.some((f) => 'e2e/fuzz/'.includes(f) || f.includes('fuzz') || f.includes('schemathesis'));
}
