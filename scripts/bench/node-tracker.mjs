/**
 * homing in Node, from the built ESM bundle: how many track() calls a second, and how many store
 * writes a 1,000-event burst costs before it is persisted.
 */
import { createServer } from 'node:net';
import { repeat, summarize, waitFor } from './stats.mjs';

const { createTracker, createMemoryStore } = await import('../../dist/homing.mjs');

/** A port nothing listens on: requests to it are refused at once, like a collector that is down. */
export async function findClosedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** track() calls per second with the memory store and nothing sent during the loop. */
export async function measureNodeTrackRate({ runs, calls, closedPort }) {
  const perRun = await repeat(runs, async () => {
    const tracker = createTracker({
      endpoint: `http://127.0.0.1:${closedPort}/v1/batch`,
      store: 'memory',
      flushInterval: 3_600_000,
      batchSize: 1000,
      maxQueueSize: calls,
    });
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) tracker.track('Bench', { i, plan: 'pro' });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    await tracker.shutdown();
    return (calls / elapsedMs) * 1000;
  });
  const rate = summarize(perRun);
  return { calls, callsPerSecond: rate, microsPerCall: 1e6 / rate.median };
}

/**
 * Wraps a store to count its writes and know what it holds, so a test can wait until a burst
 * is persisted.
 */
export function createCountingStore(inner) {
  const held = new Set();
  const counts = { writes: 0, put: 0, removed: 0 };
  const store = {
    kind: inner.kind,
    load: () => inner.load(),
    async write(changes) {
      counts.writes++;
      counts.put += changes.put.length;
      counts.removed += changes.remove.length;
      await inner.write(changes);
      for (const event of changes.put) held.add(event.id);
      for (const id of changes.remove) held.delete(id);
    },
  };
  return { store, counts, held };
}

/**
 * One synchronous burst into a tracker on a counting memory store, delivering to the collector:
 * writes and milliseconds until the store holds the whole burst, then writes until it is all
 * delivered and removed again.
 */
export async function measureNodeBurstWrites({ runs, burst, endpoint }) {
  const perRun = await repeat(runs, async () => {
    const { store, counts, held } = createCountingStore(createMemoryStore());
    const tracker = createTracker({ endpoint, store, maxQueueSize: burst });
    await tracker.flush();
    const started = performance.now();
    for (let i = 0; i < burst; i++) tracker.track('Bench', { i, plan: 'pro' });
    await waitFor(() => held.size >= burst, { everyMs: 0, what: 'the burst to be persisted' });
    const persistedMs = performance.now() - started;
    const writesUntilPersisted = counts.writes;
    await waitFor(() => tracker.stats().delivered === burst && held.size === 0, { what: 'the burst to be delivered' });
    await tracker.shutdown();
    return { persistedMs, writesUntilPersisted, writesUntilDelivered: counts.writes, requests: tracker.stats().requests };
  });
  return {
    burst,
    persistedMs: summarize(perRun.map((run) => run.persistedMs)),
    writesUntilPersisted: summarize(perRun.map((run) => run.writesUntilPersisted)),
    writesUntilDelivered: summarize(perRun.map((run) => run.writesUntilDelivered)),
    requests: summarize(perRun.map((run) => run.requests)),
  };
}
