import type { Context } from '../context.js';
import { UsageError } from '../io.js';

type Source = { summary: string; load: () => Promise<(argv: string[], ctx: Context) => Promise<number>> };

/** Where `berth import` copies from; each source has its own options (`berth import SOURCE --help`). */
const SOURCES: Record<string, Source> = {
  mlflow: {
    summary: 'copy registered models, versions and their artifacts from a running MLflow server',
    load: async () => (await import('./import-mlflow.js')).run,
  },
  hub: { summary: 'mirror one Hugging Face Hub repo at a pinned commit', load: async () => (await import('./import-hub.js')).run },
};

const USAGE = [
  'usage: berth import SOURCE [options]',
  '',
  'sources:',
  ...Object.entries(SOURCES).map(([name, s]) => `  ${name.padEnd(8)}${s.summary}`),
  '',
  '`berth import SOURCE --help` shows its options.',
].join('\n');

export async function run(argv: string[], ctx: Context): Promise<number> {
  const [source, ...rest] = argv;
  if (source === undefined || source === '--help' || source === '-h') return (ctx.print(USAGE), source === undefined ? 2 : 0);
  const s = SOURCES[source];
  if (!s) throw new UsageError(`unknown import source ${JSON.stringify(source)}: use ${Object.keys(SOURCES).join(' or ')}`, USAGE);
  return (await s.load())(rest, ctx);
}
