import { invalid } from '@berth/core';

/** Runs `fn` over `items`, at most `concurrency` at a time; stops taking items after a failure. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw invalid(`concurrency must be a whole number >= 1, not ${concurrency}`, { field: 'concurrency' });
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, items.length)) }, worker));
  if (failure) throw failure.err;
}
