import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkAdapterConfig, invalid, parsePin, parseUpstream, type Dependency } from '@berth/core';
import { pushDirectory } from '@berth/sdk/node';
import { parse, parseCount, parsePairs } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { bytes } from '../output/format.js';
import { ProgressBar } from '../output/progress.js';

const USAGE = `usage: berth push <dir|file> --model NAME [--kind model|adapter|prompt|rag-config|bundle|dataset]
                  [--metadata k=v ...] [--metadata-file f.json] [--tag k=v ...] [--description D]
                  [--run RUN_ID] [--source S] [--concurrency 4]
                  [--base NAME:N] [--upstream hf:ORG/NAME@<40-hex commit>]
Registers the files as a new immutable version; only blobs the server lacks are uploaded.
--kind adapter needs --base, the base version pinned (name:N or name@sha256:…); an
adapter_config.json (PEFT) naming another base or revision is refused, and its r, lora_alpha,
target_modules and task_type are recorded as metadata.peft. --upstream records where the
weights come from, at a commit (a branch or tag is refused).
--kind rag-config takes one file, rag.yaml (or rag.yml, rag.json), whose embedding_model is
pinned as name:N or name@sha256:…; the server checks it and pins that model version.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      model: { type: 'string', short: 'm' },
      kind: { type: 'string' },
      metadata: { type: 'string', multiple: true },
      'metadata-file': { type: 'string' },
      tag: { type: 'string', multiple: true },
      description: { type: 'string' },
      run: { type: 'string' },
      source: { type: 'string' },
      concurrency: { type: 'string' },
      base: { type: 'string' },
      upstream: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  if (positionals.length !== 1) throw new UsageError('give exactly one folder or file to push', USAGE);
  if (!values.model) throw new UsageError('--model NAME is required', USAGE);
  const metadata: Record<string, unknown> = {};
  if (values['metadata-file']) {
    const path = resolve(ctx.io.cwd, values['metadata-file'] as string);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw invalid(`cannot read --metadata-file ${values['metadata-file']}: ${(err as Error).message}`, { field: 'metadata-file' });
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw invalid(`--metadata-file ${values['metadata-file']} must hold a JSON object`, { field: 'metadata-file' });
    Object.assign(metadata, parsed);
  }
  Object.assign(metadata, parsePairs(values.metadata as string[] | undefined, 'metadata', USAGE, true));
  const tags = parsePairs(values.tag as string[] | undefined, 'tag', USAGE, false) as Record<string, string>;
  const concurrency = parseCount(values.concurrency, 'concurrency', USAGE, 1, 64) ?? 4;
  const [input = ''] = positionals;
  if (values.upstream !== undefined) {
    parseUpstream(values.upstream);
    metadata.upstream = values.upstream;
  }
  const dependencies = values.base === undefined ? undefined : await adapterBase(ctx, values.base as string, resolve(ctx.io.cwd, input), metadata);
  if (values.kind === 'adapter' && !dependencies) throw new UsageError('--kind adapter needs --base NAME:N, the base version it was trained on', USAGE);
  const bar = new ProgressBar(ctx.io.stderr);
  const source = (values.source as string | undefined) ?? `upload:${resolve(ctx.io.cwd, input)}`;
  const result = await pushDirectory(ctx.client(), resolve(ctx.io.cwd, input), {
    model: values.model as string,
    kind: values.kind as string | undefined,
    dependencies,
    description: values.description as string | undefined,
    metadata,
    tags,
    runId: values.run as string | undefined,
    source,
    concurrency,
    onProgress: (p) => bar.update(p.phase === 'hash' ? 'hashing  ' : 'uploading', p.done, p.total),
  }).finally(() => bar.done());
  const v = result.version;
  if (ctx.json) {
    ctx.printJson({
      model: v.model,
      version: v.version,
      digest: v.digest,
      files: result.files,
      uploaded_bytes: result.uploaded_bytes,
      skipped_bytes: result.skipped_bytes,
      resumed_bytes: result.resumed_bytes,
    });
  } else {
    ctx.print(`${v.model}:${v.version} ${v.digest}`);
    const resumed = result.resumed_bytes > 0 ? `, resumed ${bytes(result.resumed_bytes)} an interrupted push had sent` : '';
    ctx.print(
      `${result.files.length} file(s), ${bytes(v.size)}: uploaded ${bytes(result.uploaded_bytes)}, already stored ${bytes(result.skipped_bytes)}${resumed}`,
    );
  }
  return 0;
}

/**
 * The base pin of an adapter: the base version by number and digest. The folder's
 * adapter_config.json, when there is one, must not name another base (decision 0017); what
 * it says about the adapter goes into `metadata.peft`.
 */
async function adapterBase(ctx: Context, ref: string, dir: string, metadata: Record<string, unknown>): Promise<Dependency[]> {
  parsePin(ref, '--base');
  const base = await ctx.client().resolve(ref);
  let text: string | undefined;
  try {
    text = await readFile(resolve(dir, 'adapter_config.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
  }
  if (text !== undefined) {
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      throw invalid(`adapter_config.json is not JSON: ${(err as Error).message}`, { field: 'adapter_config' });
    }
    const upstream = typeof base.metadata.upstream === 'string' ? parseUpstream(base.metadata.upstream) : undefined;
    metadata.peft = checkAdapterConfig(config, { ref, model: base.model, ...(upstream ? { upstream } : {}) });
  }
  return [{ model: base.model, version: base.version, digest: base.digest }];
}
