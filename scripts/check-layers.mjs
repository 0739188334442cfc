#!/usr/bin/env node
// The layering rules of CONVENTIONS.md as a failing check: imports point one way
// (http → registry → store | blobs → core), each third-party library has one home folder.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const violations = [];
let files = 0;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) check(p);
  }
}

function importsOf(text) {
  const out = [];
  const re = /^\s*(import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  let m;
  while ((m = re.exec(text))) {
    const spec = m[2] ?? m[3] ?? m[4];
    const line = text.slice(0, m.index).split('\n').length + (text[m.index] === '\n' ? 1 : 0);
    const typeOnly = /^\s*(import|export)\s+type\s/.test(m[0]);
    out.push({ spec, line, typeOnly });
  }
  return out;
}

function check(file) {
  files++;
  const rel = relative(root, file).split(sep).join('/');
  const isTest = rel.endsWith('.test.ts') || rel.includes('/test-support/');
  const pkg = rel.split('/')[1];
  const inSrc = rel.split('/').slice(3).join('/'); // path below packages/<pkg>/src/
  const text = readFileSync(file, 'utf8');
  const bad = (line, rule) => violations.push(`${rel}:${line}: ${rule}`);
  for (const { spec, line } of importsOf(text)) {
    const bare = !spec.startsWith('.');
    const lib = bare ? (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]) : undefined;
    if (pkg === 'core' && !isTest) {
      if (bare && !['@noble/hashes', '@sinclair/typebox'].includes(lib)) bad(line, `core is pure: it may not import ${spec}`);
    }
    if (pkg === 'sdk' && !isTest) {
      if (lib === '@berth/server' || lib === '@berth/cli') bad(line, `the sdk may not import ${lib}`);
      if (spec.startsWith('node:') && !(inSrc === 'node.ts' || inSrc.startsWith('node/'))) bad(line, 'the sdk imports node:* only in node.ts or src/node/');
    }
    if (pkg === 'cli') {
      if (['kysely', 'better-sqlite3', 'pg', 'fastify'].includes(lib)) bad(line, `the cli talks to servers through @berth/sdk, not ${lib}`);
      if (lib === '@berth/server' && inSrc !== 'commands/server.ts' && !isTest) bad(line, 'only commands/server.ts may import @berth/server');
    }
    if (pkg === 'server' && !isTest) {
      const top = inSrc.split('/')[0];
      const target = bare ? undefined : join(file, '..', spec).split(sep).join('/');
      const targetTop = target ? relative(join(root, 'packages/server/src'), target).split(sep)[0] : undefined;
      if (['kysely', 'better-sqlite3', 'pg'].includes(lib) && top !== 'store') bad(line, `${lib} lives only under store/`);
      if ((lib === 'fastify' || lib?.startsWith('@fastify/')) && !['http', 'app.ts', 'main.ts'].includes(top)) bad(line, `${lib} lives only in app.ts, main.ts and http/`);
      if (top === 'http' && ['store', 'blobs'].includes(targetTop)) bad(line, `http/ may not import ${targetTop}/: go through registry/`);
      if (top === 'registry' && (lib === 'fastify' || targetTop === 'http')) bad(line, 'registry/ never sees HTTP');
      if ((top === 'store' || top === 'blobs') && ['registry', 'http'].includes(targetTop)) bad(line, `${top}/ may not import ${targetTop}/`);
    }
  }
}

for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  try {
    statSync(src);
  } catch {
    continue;
  }
  walk(src);
}

if (violations.length) {
  for (const v of violations) console.error(v);
  console.error(`layers: ${violations.length} violation(s)`);
  process.exit(1);
}
console.log(`layers ok (${files} files)`);
