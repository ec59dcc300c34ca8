/** The one concurrency pool: runs `work` over `items` with at most `concurrency` in flight. */

export interface PoolFailure {
  index: number;
  error: unknown;
}

/**
 * Resolves when every item is done. An item whose work throws does not stop the others: its error
 * is collected, and the failures come back sorted by item index.
 */
export async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<PoolFailure[]> {
  const failures: PoolFailure[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failures.push({ index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return failures.sort((a, b) => a.index - b.index);
}
