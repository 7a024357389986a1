/**
 * homing in Chromium: the main-thread cost of track() per store, how fast a burst reaches
 * IndexedDB, and end-to-end delivery to the reference collector on loopback.
 */
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.mjs';
import { usePooledRandom } from './cost-breakdown.mjs';
import { repeat, summarize, waitFor } from './stats.mjs';

/** Served by page.route at the demo server's origin, so the tracker's '/v1/batch' is same-origin. */
const BENCH_PAGE = '<!doctype html><meta charset="utf-8"><title>homing bench</title><script src="/dist/homing.iife.js"></script>';
/**
 * Cross-origin isolation gives the page a 5 µs `performance.now()` (100 µs otherwise), fine
 * enough to time a single warm call; the page's own requests are same-origin, so nothing else changes.
 */
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
/** The first calls of a burst, timed as one run, as in the fresh-page bench. */
const FIRST_CALLS = 100;

/** A burst not in IndexedDB by then never will be: the bench fails rather than waits for good. */
const PERSIST_TIMEOUT_MS = 10_000;
/** Nor is an end-to-end run that has not delivered everything by then. */
const DELIVER_TIMEOUT_MS = 120_000;

export async function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * A fresh page at `<server>/bench.html` with the IIFE bundle loaded. Before any script runs it
 * records long tasks, and counts IndexedDB readwrite transactions (one per store write).
 */
export async function openBenchPage(browser, serverUrl) {
  const page = await browser.newPage();
  await page.route(`${serverUrl}bench.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', headers: ISOLATION_HEADERS, body: BENCH_PAGE }));
  await page.addInitScript(() => {
    window.benchLongTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.benchLongTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: 'longtask' });
    window.benchIndexedDbWrites = 0;
    const transaction = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (names, mode, ...rest) {
      if (mode === 'readwrite') window.benchIndexedDbWrites++;
      return transaction.call(this, names, mode, ...rest);
    };
  });
  await page.goto(`${serverUrl}bench.html`);
  return page;
}

/**
 * µs per track() call in a synchronous loop, for one store. The first burst on the page runs
 * with cold JIT and is reported apart; then `runs` bursts, each into a new tracker.
 */
export async function measureTrackCost(page, { store, runs, calls }) {
  const burst = (run) => page.evaluate(trackBurstInPage, { store, calls, firstCalls: FIRST_CALLS, storageKey: `bench-${store}${run}` });
  const cold = await burst('cold');
  const warm = await repeat(runs, burst);
  return {
    store,
    storeUsed: [...new Set([cold, ...warm].map((run) => run.storeUsed))].join(', '),
    calls,
    coldMicrosPerCall: cold.microsPerCall,
    microsPerCall: summarize(warm.map((run) => run.microsPerCall)),
    createMs: summarize(warm.map((run) => run.createMs)),
    firstCallMs: summarize(warm.map((run) => run.firstCallMs)),
    firstCallsMicrosPerCall: summarize(warm.map((run) => (run.firstCallsMs * 1000) / FIRST_CALLS)),
    firstCalls: FIRST_CALLS,
    burstTaskMs: summarize(warm.map((run) => run.burstTaskMs)),
    longestTaskMs: Math.max(cold.longestTaskMs, ...warm.map((run) => run.longestTaskMs)),
  };
}

/**
 * µs per track() call with the page's own crypto.getRandomValues and with a pooled stand-in,
 * in alternating runs on one warm page so that both see the same noise. Memory store and the
 * page offline: nothing but track() itself runs, before, during or after each loop.
 */
export async function measurePooledRandomEffect(page, { runs, calls }) {
  const loop = async (pooled) => {
    await page.evaluate(usePooledRandom, pooled);
    return page.evaluate(timeTrackLoopInPage, calls);
  };
  await page.context().setOffline(true);
  try {
    await loop(false);
    const real = [];
    const pooled = [];
    for (let run = 0; run < runs; run++) {
      real.push(await loop(false));
      pooled.push(await loop(true));
    }
    return { store: 'memory', calls, real: summarize(real), pooled: summarize(pooled) };
  } finally {
    await page.context().setOffline(false);
  }
}

/** Runs in the page: µs per call of one synchronous loop into a new tracker. */
async function timeTrackLoopInPage(calls) {
  const tracker = homing.createTracker({ endpoint: '/v1/batch', store: 'memory', flushInterval: 60_000, batchSize: 1000, maxQueueSize: calls });
  await tracker.flush();
  const started = performance.now();
  for (let i = 0; i < calls; i++) tracker.track('Bench', { i, plan: 'pro' });
  const microsPerCall = ((performance.now() - started) * 1000) / calls;
  await tracker.shutdown();
  return microsPerCall;
}

/** Runs in the page: one timed burst into a new tracker, then waits until it is all delivered. */
async function trackBurstInPage({ store, calls, firstCalls, storageKey }) {
  localStorage.clear();
  const createStarted = performance.now();
  const tracker = homing.createTracker({ endpoint: '/v1/batch', store, storageKey, flushInterval: 60_000, batchSize: 1000, maxQueueSize: 5000 });
  const createMs = performance.now() - createStarted;
  await tracker.flush();
  const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
  await nextTask();

  const started = performance.now();
  tracker.track('Bench', { i: 0, plan: 'pro' });
  const firstCallMs = performance.now() - started;
  for (let i = 1; i < firstCalls; i++) tracker.track('Bench', { i, plan: 'pro' });
  const firstCallsMs = performance.now() - started;
  for (let i = firstCalls; i < calls; i++) tracker.track('Bench', { i, plan: 'pro' });
  const loopMs = performance.now() - started;
  await nextTask();
  // The loop's task, plus the write-behind and the first send that run as microtasks right after it.
  const burstTaskMs = performance.now() - started;

  const storeUsed = tracker.stats().store;
  await tracker.shutdown();
  const overlapping = window.benchLongTasks.filter((task) => task.start + task.duration >= started && task.start <= started + burstTaskMs);
  return { microsPerCall: (loopMs * 1000) / calls, createMs, firstCallMs, firstCallsMs, burstTaskMs, longestTaskMs: Math.max(0, ...overlapping.map((task) => task.duration)), storeUsed };
}

/**
 * Store writes, and milliseconds from the first track() until IndexedDB holds a whole burst.
 * The page is offline meanwhile, so no delivery (and no removal) mixes into the burst's writes.
 */
export async function measureIndexedDbBurst(page, { runs, burst }) {
  const perRun = await repeat(runs, async (run) => {
    await page.context().setOffline(true);
    try {
      return await page.evaluate(indexedDbBurstInPage, { burst, storageKey: `bench-idb-burst${run}`, persistTimeoutMs: PERSIST_TIMEOUT_MS });
    } finally {
      await page.context().setOffline(false);
    }
  });
  return {
    burst,
    storeUsed: [...new Set(perRun.map((run) => run.storeUsed))].join(', '),
    loopMs: summarize(perRun.map((run) => run.loopMs)),
    persistedMs: summarize(perRun.map((run) => run.persistedMs)),
    writesUntilPersisted: summarize(perRun.map((run) => run.writesUntilPersisted)),
  };
}

/** Runs in the page: counts the records with a connection of its own, back to back, until the burst is there. */
async function indexedDbBurstInPage({ burst, storageKey, persistTimeoutMs }) {
  const request = (req) => new Promise((resolve, reject) => ((req.onsuccess = () => resolve(req.result)), (req.onerror = () => reject(req.error))));
  const tracker = homing.createTracker({ endpoint: '/v1/batch', store: 'indexeddb', storageKey, flushInterval: 60_000, batchSize: 1000, maxQueueSize: 5000 });
  await tracker.flush();
  // homing's layout (version 2, every queue's records in 'queue'); this connection steps aside for any upgrade.
  const opening = indexedDB.open(storageKey, 2);
  opening.onupgradeneeded = () => opening.result.createObjectStore('queue');
  const db = await request(opening);
  db.onversionchange = () => db.close();
  // A chunk, keyed [queue, seq, id, write], holds the events of one write; longer keys note removals.
  // Keys are polled; the events are read only once a chunk is there.
  const chunkKeys = async () => (await request(db.transaction('queue', 'readonly').objectStore('queue').getAllKeys())).filter((key) => key.length === 4);
  const countEvents = async () => {
    const keys = await chunkKeys();
    if (!keys.length) return 0;
    const store = db.transaction('queue', 'readonly').objectStore('queue');
    const chunks = await Promise.all(keys.map((key) => request(store.get(key))));
    return chunks.reduce((count, chunk) => count + chunk.length, 0);
  };
  const writesBefore = window.benchIndexedDbWrites;

  const started = performance.now();
  for (let i = 0; i < burst; i++) tracker.track('Bench', { i, plan: 'pro' });
  const loopMs = performance.now() - started;
  const deadline = started + persistTimeoutMs;
  while ((await countEvents()) < burst) {
    if (performance.now() > deadline) throw new Error(`bench: the burst was not in IndexedDB within ${persistTimeoutMs} ms`);
  }
  const persistedMs = performance.now() - started;
  const writesUntilPersisted = window.benchIndexedDbWrites - writesBefore;

  const storeUsed = tracker.stats().store;
  db.close();
  await tracker.shutdown();
  return { loopMs, persistedMs, writesUntilPersisted, storeUsed };
}

/**
 * `events` tracked in one synchronous loop (default maxBatchBytes; batchSize default unless
 * given) until the collector holds every one: the clock runs from the first track() to the
 * collector's count.
 */
export async function measureEndToEnd(page, collector, { runs, events, store, batchSize, compress = false }) {
  const perRun = await repeat(runs, async (run) => {
    collector.reset();
    let wireBytes = 0;
    const countBody = (request) => {
      if (request.url().endsWith('/v1/batch')) wireBytes += request.postDataBuffer()?.length ?? 0;
    };
    page.on('request', countBody);
    const storageKey = `bench-e2e-${store}${batchSize ?? ''}${compress ? '-gzip' : ''}-${run}`;
    const { startedAt } = await page.evaluate(startEndToEndInPage, { events, store, batchSize, compress, storageKey });
    await waitFor(() => collector.state.unique >= events, { everyMs: 1, what: `${events} events at the collector` });
    const collectedAt = Date.now();
    const stats = await page.evaluate(finishEndToEndInPage, { events, deliverTimeoutMs: DELIVER_TIMEOUT_MS });
    page.off('request', countBody);
    const { unique, duplicates, requests } = collector.state;
    const seconds = (collectedAt - startedAt) / 1000;
    return { seconds, eventsPerSecond: events / seconds, unique, duplicates, requests, bytesSent: wireBytes, storeUsed: stats.store };
  });
  const median = (pick) => summarize(perRun.map(pick));
  return {
    events,
    batchSize: batchSize ?? 'default',
    compress,
    storeUsed: [...new Set(perRun.map((run) => run.storeUsed))].join(', '),
    eventsPerSecond: median((run) => run.eventsPerSecond),
    seconds: median((run) => run.seconds),
    requests: median((run) => run.requests),
    bytesSent: median((run) => run.bytesSent),
    bytesPerEvent: median((run) => run.bytesSent / events),
    duplicates: median((run) => run.duplicates),
    unique: median((run) => run.unique),
  };
}

/** Runs in the page: `maxQueueSize` is raised so that the whole burst fits the queue. */
async function startEndToEndInPage({ events, store, batchSize, compress, storageKey }) {
  const options = { endpoint: '/v1/batch', store, storageKey, maxQueueSize: events, compress };
  if (batchSize) options.batchSize = batchSize;
  const tracker = homing.createTracker(options);
  await tracker.flush();
  window.benchTracker = tracker;
  const startedAt = Date.now();
  for (let i = 0; i < events; i++) tracker.track('Bench', { i, plan: 'pro' });
  return { startedAt };
}

async function finishEndToEndInPage({ events, deliverTimeoutMs }) {
  const tracker = window.benchTracker;
  const deadline = Date.now() + deliverTimeoutMs;
  while (tracker.stats().delivered < events) {
    if (Date.now() > deadline) throw new Error(`bench: ${events} events not delivered within ${deliverTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const stats = tracker.stats();
  await tracker.shutdown();
  return stats;
}

/**
 * The floor under each delivery request: sequential 1-byte POSTs from the page to the demo
 * server (answered 405 at once), in ms per round trip.
 */
export async function measureRoundTrip(page, { requests }) {
  return page.evaluate(async (requests) => {
    const post = async () => (await fetch('/bench-round-trip', { method: 'POST', body: 'x' })).arrayBuffer();
    for (let i = 0; i < 10; i++) await post();
    const started = performance.now();
    for (let i = 0; i < requests; i++) await post();
    return (performance.now() - started) / requests;
  }, requests);
}

/** One event exactly as the IIFE tracker builds it, for timing JSON.stringify on. */
export async function sampleEvent(page) {
  return page.evaluate(() => {
    const tracker = homing.createTracker({ endpoint: '/v1/batch', store: 'memory', storageKey: 'bench-sample', flushInterval: 60_000 });
    let sample;
    tracker.on('queued', (event) => (sample = event));
    tracker.track('Bench', { i: 1, plan: 'pro' });
    void tracker.shutdown();
    return sample;
  });
}
