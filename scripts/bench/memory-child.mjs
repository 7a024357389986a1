/**
 * Run by bench.mjs as `node --expose-gc memory-child.mjs <closed port> <events> <maxQueueSize>`:
 * tracks that many events, a chunk per macrotask, while the collector refuses every connection,
 * and prints one JSON line with heap and RSS after a full GC at checkpoints along the way.
 */
const { createTracker } = await import('../../dist/homing.mjs');

const [closedPort, totalEvents, maxQueueSize] = process.argv.slice(2).map(Number);
/** track() calls per macrotask: a busy server-side loop, with room for the queue's writes and retries in between. */
const CHUNK = 1_000;
const CHECKPOINTS = 10;
const WARM_UP_EVENTS = 10_000;

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

const tracker = createTracker({
  endpoint: `http://127.0.0.1:${closedPort}/v1/batch`,
  store: 'memory',
  maxQueueSize,
  flushInterval: 3_600_000,
});

await trackInChunks(WARM_UP_EVENTS);
const baseline = sampleMemory(WARM_UP_EVENTS);
const samples = [baseline];
const started = performance.now();
let tracked = WARM_UP_EVENTS;
const step = (totalEvents - WARM_UP_EVENTS) / CHECKPOINTS;
for (let checkpoint = 1; checkpoint <= CHECKPOINTS; checkpoint++) {
  const until = Math.round(WARM_UP_EVENTS + step * checkpoint);
  await trackInChunks(until - tracked, tracked);
  tracked = until;
  samples.push(sampleMemory(tracked));
}
const elapsedMs = performance.now() - started;
const stats = tracker.stats();

process.stdout.write(
  `${JSON.stringify({
    events: tracked,
    maxQueueSize,
    elapsedMs,
    callsPerSecond: ((tracked - WARM_UP_EVENTS) / elapsedMs) * 1000,
    baseline,
    final: samples.at(-1),
    peakHeapUsed: Math.max(...samples.map((sample) => sample.heapUsed)),
    peakRss: Math.max(...samples.map((sample) => sample.rss)),
    samples,
    queued: stats.queued,
    droppedOverflow: stats.droppedBy.overflow,
    requests: stats.requests,
    delivered: stats.delivered,
  })}\n`,
);
process.exit(0);

async function trackInChunks(count, offset = 0) {
  for (let done = 0; done < count; done += CHUNK) {
    const end = Math.min(count, done + CHUNK);
    for (let i = done; i < end; i++) tracker.track('Bench', { i: offset + i, plan: 'pro' });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function sampleMemory(events) {
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { events, heapUsed, rss };
}
