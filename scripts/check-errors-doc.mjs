#!/usr/bin/env node
// Keeps docs/errors.md in step with the code tables of packages/core/src/errors.ts (as Fastify's
// test/internals/errors.test.js does for its docs): every ErrorCode must have exactly one row
// with the same HTTP status and CLI exit code and a non-empty meaning, and no row may name a
// code that does not exist. Reads the built packages/core/dist (npm test runs `tsc -b` first).
import { existsSync, readFileSync } from 'node:fs';

const built = new URL('../packages/core/dist/errors.js', import.meta.url);
const docPath = new URL('../docs/errors.md', import.meta.url);
if (!existsSync(built)) {
  console.error('check-errors-doc: packages/core/dist/errors.js is missing: run `npx tsc -b` first');
  process.exit(1);
}
const { ERROR_CODES, HTTP_STATUS, EXIT_CODE } = await import(built.href);
const doc = readFileSync(docPath, 'utf8');

const problems = [];
const rows = new Map();
// | `CODE` | 404 | 3 | meaning |
for (const m of doc.matchAll(/^\|\s*`([A-Za-z_]+)`\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*$/gm)) {
  const [, code, status, exit, meaning] = m;
  if (rows.has(code)) problems.push(`docs/errors.md lists ${code} twice`);
  rows.set(code, { status, exit, meaning });
}
for (const code of ERROR_CODES) {
  const row = rows.get(code);
  if (!row) {
    problems.push(`docs/errors.md has no row for ${code} (HTTP ${HTTP_STATUS[code]}, exit ${EXIT_CODE[code]})`);
    continue;
  }
  if (row.status !== String(HTTP_STATUS[code])) problems.push(`${code}: docs/errors.md says HTTP ${row.status}, errors.ts says ${HTTP_STATUS[code]}`);
  if (row.exit !== String(EXIT_CODE[code])) problems.push(`${code}: docs/errors.md says exit ${row.exit}, errors.ts says ${EXIT_CODE[code]}`);
  if (row.meaning.length < 10) problems.push(`${code}: docs/errors.md gives no meaning and fix`);
}
for (const code of rows.keys())
  if (!ERROR_CODES.includes(code)) problems.push(`docs/errors.md names ${code}, which is not an ErrorCode in packages/core/src/errors.ts`);

if (problems.length) {
  for (const p of problems) console.error(p);
  console.error(`check-errors-doc: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`error catalogue ok (${ERROR_CODES.length} codes)`);
