/**
 * homing in Node, from the built ESM bundle: how many track() calls a second, and how many store
 * writes a 1,000-event burst costs before it is persisted; and Node's own round trip to the server.
 */
import { createServer } from 'node:net';
import { usePooledRandom } from './cost-breakdown.mjs';
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

/**
 * track() calls per second with the memory store, each run a new tracker with the default options
 * otherwise; nothing is sent during the loop. `maxQueueSize` is raised to `calls` unless given, so
 * that the figure is the cost of recording an event, not of dropping one. A first, untimed run
 * lets the JIT compile track(): the figure is a server's steady rate.
 */
export async function measureNodeTrackRate({ runs, calls, closedPort, maxQueueSize = calls }) {
  await timeTrackLoop({ calls, closedPort, maxQueueSize });
  const perRun = await repeat(runs, () => timeTrackLoop({ calls, closedPort, maxQueueSize }));
  const rate = summarize(perRun.map((micros) => 1e6 / micros));
  return { calls, maxQueueSize, callsPerSecond: rate, microsPerCall: 1e6 / rate.median };
}

/** µs per track() call with Node's crypto.getRandomValues and with a pooled stand-in, in alternating runs. */
export async function measureNodePooledRandomEffect({ runs, calls, closedPort }) {
  const real = [];
  const pooled = [];
  for (let run = 0; run < runs; run++) {
    real.push(await timeTrackLoop({ calls, closedPort }));
    usePooledRandom(true);
    pooled.push(await timeTrackLoop({ calls, closedPort }));
    usePooledRandom(false);
  }
  return { calls, real: summarize(real), pooled: summarize(pooled) };
}

/** One synchronous loop of `calls` track() calls into a new tracker; µs per call. */
async function timeTrackLoop({ calls, closedPort, maxQueueSize = calls }) {
  const tracker = createTracker({ endpoint: `http://127.0.0.1:${closedPort}/v1/batch`, store: 'memory', maxQueueSize });
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) tracker.track('Bench', { i, plan: 'pro' });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  await tracker.shutdown();
  return (elapsedMs * 1000) / calls;
}

/** Sequential 1-byte POSTs from Node's fetch to `url` (answered 405 at once), in ms per round trip: Chromium's figure without the browser. */
export async function measureNodeRoundTrip(url, { requests }) {
  const post = async () => (await fetch(url, { method: 'POST', body: 'x' })).arrayBuffer();
  for (let i = 0; i < 10; i++) await post();
  const started = performance.now();
  for (let i = 0; i < requests; i++) await post();
  return (performance.now() - started) / requests;
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
      counts.removed += changes.remove.flat().length;
      await inner.write(changes);
      for (const event of changes.put) held.add(event.id);
      for (const event of changes.remove.flat()) held.delete(event.id);
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
    const loopMs = performance.now() - started;
    await waitFor(() => held.size >= burst, { everyMs: 0, what: 'the burst to be persisted' });
    const persistedMs = performance.now() - started;
    const writesUntilPersisted = counts.writes;
    await waitFor(() => tracker.stats().delivered === burst && held.size === 0, { what: 'the burst to be delivered' });
    await tracker.shutdown();
    return { loopMs, persistedMs, writesUntilPersisted, writesUntilDelivered: counts.writes, requests: tracker.stats().requests };
  });
  return {
    burst,
    loopMs: summarize(perRun.map((run) => run.loopMs)),
    persistedMs: summarize(perRun.map((run) => run.persistedMs)),
    writesUntilPersisted: summarize(perRun.map((run) => run.writesUntilPersisted)),
    writesUntilDelivered: summarize(perRun.map((run) => run.writesUntilDelivered)),
    requests: summarize(perRun.map((run) => run.requests)),
  };
}

/** One event exactly as the Node tracker builds it, for timing JSON.stringify on. */
export async function sampleNodeEvent(closedPort) {
  const tracker = createTracker({ endpoint: `http://127.0.0.1:${closedPort}/v1/batch`, store: 'memory', flushInterval: 60_000 });
  let sample;
  tracker.on('queued', (event) => (sample = event));
  tracker.track('Bench', { i: 1, plan: 'pro' });
  await tracker.shutdown();
  return sample;
}
