/**
 * Runs asynchronous work over a list with a bound on how much runs at once.
 *
 * @module
 */

/**
 * Calls `fn(item, index)` for every item of `items`, with at most `limit` calls running at once,
 * starting them in list order. Resolves when every call has settled. A call that rejects stops
 * the worker that made it (the others carry on through the rest of the list) and the result
 * rejects with that reason once every worker has stopped, so `fn` should catch what it can handle
 * itself.
 *
 * @throws RangeError when `limit` is not a positive integer.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`the concurrency limit must be a positive integer, got ${limit}`);
  }
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index], index);
    }
  };
  const workers = Array.from({ length: Math.min(limit, items.length) }, worker);
  const results = await Promise.allSettled(workers);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
