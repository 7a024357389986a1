/** Small numeric helpers shared by the bench's measurements. */

/** Median, min and max of a list of numbers. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

/** Runs `measure` `runs` times, one after the other, and returns every result. */
export async function repeat(runs, measure) {
  const results = [];
  for (let run = 0; run < runs; run++) results.push(await measure(run));
  return results;
}

/** Resolves once `condition()` is true, checking every `everyMs`; rejects after `timeoutMs`. */
export async function waitFor(condition, { everyMs = 2, timeoutMs = 60_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
