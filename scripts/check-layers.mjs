#!/usr/bin/env node
// The layering rules of CONVENTIONS.md as a failing check: imports point one way
// (http → registry → store | blobs | events → core) and each third-party library has one home
// folder. Imports are read with the TypeScript parser (static imports, re-exports,
// `import x = require()`, `import()` calls and `import('x')` types), so comments and strings
// cannot fool it. Every import counts, type-only ones too: a type import is still a dependency.
//
// Prints `file:line: rule` for each violation and exits 1, or `layers ok (N files)`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(new URL('..', import.meta.url).pathname);
const posix = (p) => p.split(sep).join('/');
const builtins = new Set(builtinModules);
const DB_LIBS = ['kysely', 'better-sqlite3', 'pg'];
// fflate: pure-JS inflate with a synchronous streaming API, for the zip checkpoint scanner (decision 0016).
const CORE_DEPS = ['@noble/hashes', '@sinclair/typebox', 'yaml', 'fflate'];
// Core tests are unit tests: no disk, network or clock (CONVENTIONS "Tests").
const CORE_TEST_NODE = ['node:test', 'node:assert', 'node:assert/strict'];
// Beside src/: helpers and contract suites that tests share; test code, never built into dist/.
const TEST_SUPPORT = 'test-support';

const violations = [];
let files = 0;

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(m|c)?tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports, with its 1-based line. */
function importsOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out = [];
  const add = (lit) => {
    if (lit && ts.isStringLiteralLike(lit)) out.push({ spec: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The package an import names (`@scope/name` or `name`), `node:x` for builtins, undefined for relative ones. */
function libOf(spec) {
  if (spec.startsWith('.') || spec.startsWith('/')) return undefined;
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  const lib = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtins.has(lib) ? `node:${spec}` : lib;
}

function check(file, pkg, pkgDir) {
  files++;
  const rel = posix(relative(root, file));
  const inSrc = posix(relative(join(pkgDir, 'src'), file)); // path below packages/<pkg>/src/
  const top = inSrc.split('/')[0]; // first folder (or the file itself) below src/
  const isSupport = inSrc.startsWith(`../${TEST_SUPPORT}/`);
  const isTest = /\.test\.tsx?$/.test(inSrc) || isSupport;
  const bad = (line, rule) => violations.push(`${rel}:${line}: ${rule}`);

  for (const { spec, line } of importsOf(file, readFileSync(file, 'utf8'))) {
    const lib = libOf(spec);
    const isNode = lib?.startsWith('node:') ?? false;
    // Relative imports: where they land, as a path below this package's src/.
    const target = lib === undefined ? posix(relative(join(pkgDir, 'src'), resolve(file, '..', spec))) : undefined;
    const targetTop = target?.split('/')[0];

    // Test code may also reach the package's test support (outside src/, so it never ships).
    const toSupport = isTest && target?.startsWith(`../${TEST_SUPPORT}/`);
    if (target?.startsWith('..') && !toSupport)
      bad(line, `relative import ${spec} leaves packages/${pkg}/src${isTest ? ` and ${TEST_SUPPORT}` : ''}: import the package by name`);

    if (pkg === 'core') {
      if (isTest) {
        if (isNode && !CORE_TEST_NODE.includes(lib))
          bad(line, `core tests are pure unit tests (no disk, network or clock): ${spec} is not allowed, only ${CORE_TEST_NODE.join(', ')}`);
        else if (lib && !isNode && !CORE_DEPS.includes(lib)) bad(line, `core tests may not import ${spec}`);
      } else if (lib && !CORE_DEPS.includes(lib)) {
        bad(line, `core is pure (no I/O, no node:*, no other @berth package): it may import only ${CORE_DEPS.join(' and ')}, not ${spec}`);
      }
    }

    if (pkg === 'sdk' && !isTest) {
      if (lib === '@berth/server' || lib === '@berth/cli') bad(line, `the sdk may not import ${lib}`);
      if (isNode && !(inSrc === 'node.ts' || inSrc.endsWith('/node.ts') || inSrc.startsWith('node/')))
        bad(line, `the sdk runs in browsers too: ${spec} only in files named node.ts or under src/node/`);
    }

    if (pkg === 'cli') {
      if (DB_LIBS.includes(lib) || lib === 'fastify' || lib?.startsWith('@fastify/')) bad(line, `the cli talks to servers through @berth/sdk, not ${lib}`);
      if (lib === '@berth/server' && inSrc !== 'commands/server.ts' && !isTest) bad(line, 'only src/commands/server.ts may import @berth/server');
    }

    if (pkg === 'gateway' && !isTest) {
      if (lib === '@berth/server' || lib === '@berth/cli') bad(line, `the gateway talks to the registry through @berth/sdk, not ${lib}`);
      if (DB_LIBS.includes(lib) || lib === 'fastify' || lib?.startsWith('@fastify/'))
        bad(line, `the gateway keeps no database and serves with node:http, not ${lib}`);
    }

    if (pkg === 'web' && !isTest) {
      if (isNode) bad(line, `the web UI runs in browsers: ${spec} is not available there`);
      if (lib === '@berth/server' || lib === '@berth/cli' || lib === '@berth/gateway')
        bad(line, `the web UI talks to the server through @berth/sdk, not ${lib}`);
    }

    if (pkg === 'server' && !isTest) {
      if (DB_LIBS.includes(lib) && top !== 'store') bad(line, `${lib} lives only under store/`);
      if ((lib === 'fastify' || lib?.startsWith('@fastify/')) && !['http', 'app.ts', 'main.ts'].includes(top))
        bad(line, `${lib} lives only in app.ts, main.ts and http/`);
      if (lib?.startsWith('@aws-sdk/') && !(top === 'blobs' && /(^|\/)s3-[^/]*$/.test(inSrc)))
        bad(line, `${lib} lives only in the S3 blob store (blobs/s3-*.ts)`);
      if (top === 'http' && (targetTop === 'store' || targetTop === 'blobs')) bad(line, `http/ may not import ${targetTop}/: go through registry/`);
      if (top === 'registry' && (lib === 'fastify' || lib?.startsWith('@fastify/') || targetTop === 'http'))
        bad(line, 'registry/ never sees a request or reply: no fastify, no http/');
      if (['store', 'blobs', 'events'].includes(top) && (targetTop === 'registry' || targetTop === 'http'))
        bad(line, `${top}/ may not import ${targetTop}/: imports point http → registry → store | blobs | events`);
    }
  }
}

for (const pkg of readdirSync(join(root, 'packages')).sort()) {
  const pkgDir = join(root, 'packages', pkg);
  const src = join(pkgDir, 'src');
  if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue;
  const support = join(pkgDir, TEST_SUPPORT);
  const supportFiles = statSync(support, { throwIfNoEntry: false })?.isDirectory() ? walk(support) : [];
  for (const file of [...walk(src), ...supportFiles].sort()) check(file, pkg, pkgDir);
}

if (violations.length) {
  for (const v of violations) console.error(v);
  console.error(`layers: ${violations.length} violation(s) in ${files} files (rules: CONVENTIONS.md "Layout"; scripts/check-layers.mjs)`);
  process.exit(1);
}
console.log(`layers ok (${files} files)`);
