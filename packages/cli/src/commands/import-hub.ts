import type { Context } from '../context.js';
import { UsageError } from '../io.js';

export async function run(_argv: string[], _ctx: Context): Promise<number> {
  throw new UsageError('berth import hub is being built');
}
