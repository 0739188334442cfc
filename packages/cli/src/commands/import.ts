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

/** The source is the first positional: global options (`berth --url U import mlflow …`) may come before it and stay in the rest. */
function splitSource(argv: string[]): { source: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--url' || a === '--token') i++;
    else if (!a.startsWith('-')) return { source: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { source: undefined, rest: argv };
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { source, rest } = splitSource(argv);
  if (source === undefined) {
    const help = rest.includes('--help') || rest.includes('-h');
    if (help) return (ctx.print(USAGE), 0);
    throw new UsageError('give a source: berth import mlflow … or berth import hub …', USAGE);
  }
  const s = SOURCES[source];
  if (!s) throw new UsageError(`unknown import source ${JSON.stringify(source)}: use ${Object.keys(SOURCES).join(' or ')}`, USAGE);
  return (await s.load())(rest, ctx);
}
