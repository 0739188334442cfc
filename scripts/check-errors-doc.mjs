#!/usr/bin/env node
// Keeps docs/errors.md in step with the code tables in packages/core/src/errors.ts: every code
// must have a row with the same HTTP status and CLI exit code, and no row may name a code
// that does not exist.
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const { HTTP_STATUS, EXIT_CODE } = await import(new URL('../packages/core/dist/errors.js', import.meta.url).href);
const doc = readFileSync(`${root}docs/errors.md`, 'utf8');
const rows = new Map();
for (const m of doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/gm)) rows.set(m[1], { status: Number(m[2]), exit: Number(m[3]) });
const problems = [];
for (const code of Object.keys(HTTP_STATUS)) {
  const row = rows.get(code);
  if (!row) problems.push(`docs/errors.md has no row for ${code}`);
  else {
    if (row.status !== HTTP_STATUS[code]) problems.push(`${code}: docs say HTTP ${row.status}, code says ${HTTP_STATUS[code]}`);
    if (row.exit !== EXIT_CODE[code]) problems.push(`${code}: docs say exit ${row.exit}, code says ${EXIT_CODE[code]}`);
  }
}
for (const code of rows.keys()) if (!(code in HTTP_STATUS)) problems.push(`docs/errors.md names unknown code ${code}`);
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`error catalogue ok (${rows.size} codes)`);
