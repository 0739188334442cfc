import { resolve } from 'node:path';
import { BUNDLE_MANIFEST_PATH, notContentAddressed, parseReference } from '@berth/core';
import { pullBundle, pullVersion } from '@berth/sdk/node';
import { parse, parseCount } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { bytes } from '../output/format.js';
import { ProgressBar } from '../output/progress.js';

const USAGE = `usage: berth pull <ref> [-o DIR] [--concurrency 4] [--force]
Downloads a version (name, name:3, name@alias, name@sha256:…) and verifies every file's sha256.
An interrupted pull resumes where it stopped. DIR defaults to ./<name>-<version>.
A file in DIR whose bytes differ from the version's is refused (exit 4) unless --force replaces it.
A bundle is laid out for serving: base/, adapters/<name>/, prompt/, rag/ and berth-bundle.json,
every component checked against the digest the bundle pins.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, concurrency: { type: 'string' }, force: { type: 'boolean' } }, USAGE);
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give exactly one reference to pull', USAGE);
  const [ref = ''] = positionals;
  const parsed = parseReference(ref);
  const concurrency = parseCount(values.concurrency, 'concurrency', USAGE, 1, 64) ?? 4;
  // Resolve once: the folder is named after exactly the version that is downloaded, even if
  // an alias moves meanwhile.
  const version = await ctx.client().resolve(ref);
  if (version.content_addressed === false)
    throw notContentAddressed(`${version.model}:${version.version}`, version.external_uri ?? '', 'berth pull has nothing to download (fetch it from that URI)');
  const out = (values.output as string | undefined) ?? `${parsed.name.replace('/', '--')}-${version.version}`;
  const bar = new ProgressBar(ctx.io.stderr);
  const pullOpts = {
    concurrency,
    force: values.force === true,
    onProgress: (p: { phase: string; done: number; total: number }) => bar.update(p.phase === 'verify' ? 'verifying  ' : 'downloading', p.done, p.total),
  };
  if (
    version.dependencies.length > 0 &&
    version.files?.some((f) => f.path === BUNDLE_MANIFEST_PATH) &&
    (await ctx.client().getModel(version.model)).kind === 'bundle'
  ) {
    const b = await pullBundle(ctx.client(), version, resolve(ctx.io.cwd, out), pullOpts).finally(() => bar.done());
    if (ctx.json)
      return (
        ctx.printJson({ model: version.model, version: version.version, digest: version.digest, output: resolve(ctx.io.cwd, out), components: b.components }), 0
      );
    ctx.print(`${version.model}:${version.version} ${version.digest} -> ${out}`);
    for (const c of b.components) ctx.print(`  ${c.folder}/  ${c.model}:${c.version} ${c.digest}`);
    return 0;
  }
  const result = await pullVersion(ctx.client(), version, resolve(ctx.io.cwd, out), {
    concurrency,
    force: values.force === true,
    onProgress: (p) => bar.update(p.phase === 'verify' ? 'verifying  ' : 'downloading', p.done, p.total),
  }).finally(() => bar.done());
  if (ctx.json) {
    ctx.printJson({
      model: result.version.model,
      version: result.version.version,
      digest: result.version.digest,
      output: resolve(ctx.io.cwd, out),
      files: result.files,
      downloaded_bytes: result.downloaded_bytes,
      reused_bytes: result.reused_bytes,
    });
  } else {
    ctx.print(`${result.version.model}:${result.version.version} ${result.version.digest} -> ${out}`);
    ctx.print(`${result.files.length} file(s) verified; downloaded ${bytes(result.downloaded_bytes)}, reused ${bytes(result.reused_bytes)}`);
  }
  return 0;
}
