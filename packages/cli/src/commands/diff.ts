import { BUNDLE_MANIFEST_PATH, type BundleComponent, type BundleManifest, type ManifestFile, type Version } from '@berth/core';
import type { BerthClient } from '@berth/sdk';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

const USAGE = `usage: berth diff <ref-a> <ref-b>
What changed from a to b, file by file (added, removed, changed, with digests). For two bundles,
first component by component (base, each adapter, prompt, RAG config, params), then the files
of each component that changed.`;

interface FileChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  from: string | null;
  to: string | null;
}

interface ComponentChange {
  role: string;
  change: 'added' | 'removed' | 'changed' | 'same';
  from: string | null;
  to: string | null;
  files: FileChange[];
}

function diffFiles(a: readonly ManifestFile[], b: readonly ManifestFile[]): FileChange[] {
  const before = new Map(a.map((f) => [f.path, f.sha256]));
  const after = new Map(b.map((f) => [f.path, f.sha256]));
  const out: FileChange[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const from = before.get(path) ?? null;
    const to = after.get(path) ?? null;
    if (from === to) continue;
    out.push({ path, change: from === null ? 'added' : to === null ? 'removed' : 'changed', from, to });
  }
  return out;
}

/** Components by role: `base`, `adapter <model>`, `prompt`, `rag`. */
function roles(m: BundleManifest): Map<string, BundleComponent> {
  const out = new Map<string, BundleComponent>([['base', m.base]]);
  for (const a of m.adapters) out.set(`adapter ${a.model}`, a);
  if (m.prompt) out.set('prompt', m.prompt);
  if (m.rag) out.set('rag', m.rag);
  return out;
}

function diffComponents(a: BundleManifest, b: BundleManifest): ComponentChange[] {
  const before = roles(a);
  const after = roles(b);
  const label = (c: BundleComponent | undefined) => (c ? `${c.model}:${c.version} ${c.digest}` : null);
  return [...new Set([...before.keys(), ...after.keys()])].map((role) => {
    const x = before.get(role);
    const y = after.get(role);
    const change = !x ? 'added' : !y ? 'removed' : x.digest === y.digest ? 'same' : 'changed';
    return { role, change, from: label(x), to: label(y), files: diffFiles(x?.files ?? [], y?.files ?? []) };
  });
}

async function bundleManifest(client: BerthClient, v: Version): Promise<BundleManifest | undefined> {
  if (!v.files?.some((f) => f.path === BUNDLE_MANIFEST_PATH) || v.dependencies.length === 0) return undefined;
  return JSON.parse(await (await client.openFile(v.model, v.version, BUNDLE_MANIFEST_PATH)).text()) as BundleManifest;
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, {}, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 2) throw new UsageError('give two references to compare', USAGE);
  const client = ctx.client();
  const [a, b] = (await Promise.all(positionals.map((r) => client.resolve(r)))) as [Version, Version];
  const [ma, mb] = await Promise.all([bundleManifest(client, a), bundleManifest(client, b)]);
  const components = ma && mb ? diffComponents(ma, mb) : undefined;
  const params = ma && mb && JSON.stringify(ma.params) !== JSON.stringify(mb.params) ? { from: ma.params, to: mb.params } : undefined;
  const files = diffFiles(a.files ?? [], b.files ?? []);
  if (ctx.json) return (ctx.printJson({ from: `${a.model}:${a.version}`, to: `${b.model}:${b.version}`, components, params, files }), 0);
  ctx.print(`${a.model}:${a.version} ${a.digest} -> ${b.model}:${b.version} ${b.digest}`);
  for (const c of components ?? []) {
    ctx.print(`${c.change.padEnd(8)} ${c.role}: ${c.change === 'same' ? c.to : `${c.from ?? '-'} -> ${c.to ?? '-'}`}`);
    for (const f of c.change === 'same' ? [] : c.files) ctx.print(`    ${f.change.padEnd(8)} ${f.path} ${f.from ?? '-'} -> ${f.to ?? '-'}`);
  }
  if (params) ctx.print(`changed  params: ${JSON.stringify(params.from)} -> ${JSON.stringify(params.to)}`);
  if (!components) for (const f of files) ctx.print(`${f.change.padEnd(8)} ${f.path} ${f.from ?? '-'} -> ${f.to ?? '-'}`);
  if (files.length === 0 && !components) ctx.print('same files');
  return 0;
}
