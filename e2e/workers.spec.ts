/**
 * homing runs in Web Workers (design.md, invariant 8): a dedicated worker loading the IIFE bundle
 * with importScripts, a module worker importing the ESM bundle, and a service worker, each on the
 * demo server's origin, with no window, no document and no localStorage. Each picks IndexedDB by
 * feature detection, and everything it tracks reaches the collector once.
 */
import { arrivalOrder, expect, record, tally, test, waitForDelivery } from './helpers';

/** Events tracked by each dedicated worker. */
const WORKER_EVENTS = 20;
/** Events tracked by the service worker. */
const SERVICE_WORKER_EVENTS = 10;

/** What a worker sees of the globals a page has: a worker has IndexedDB, and no window, document or localStorage. */
const WORKER_GLOBALS = { window: 'undefined', document: 'undefined', localStorage: 'undefined', indexedDB: 'object' };

interface TrackAnswer {
  ids: string[];
  globals: typeof WORKER_GLOBALS;
}
interface StatsAnswer {
  stats: { store: string; received: number; delivered: number; queued: number; dropped: number; health: string };
  errors: string[];
}

declare global {
  interface Window {
    e2eWorker: Worker;
  }
}

const dedicatedWorkers = [
  { kind: 'a classic worker (importScripts of the IIFE bundle)', script: '/e2e/worker-homing.js', type: 'classic' },
  { kind: 'a module worker (import of the ESM bundle)', script: '/e2e/worker-homing-module.js', type: 'module' },
] as const;

for (const { kind, script, type } of dedicatedWorkers) {
  test(`${kind} tracks into IndexedDB and delivers every event once`, async ({ page, demo }) => {
    await page.goto(`${demo.url}e2e/blank.html`);
    await page.evaluate(
      ([script, type]) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(script, { type });
          worker.onerror = (error) => reject(new Error(`the worker failed: ${error.message}`));
          worker.onmessage = ({ data }) => data.ready && resolve();
          window.e2eWorker = worker;
        }),
      [script, type] as const,
    );

    const { ids, globals } = (await askWorker(page, { type: 'track', count: WORKER_EVENTS })) as TrackAnswer;
    expect(globals).toEqual(WORKER_GLOBALS);
    expect(ids).toHaveLength(WORKER_EVENTS);

    const figures = await waitForDelivery(demo.collector, ids);
    expect(figures).toEqual({ unique: WORKER_EVENTS, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, ids)).toEqual(ids);
    // Sent with fetch on the flush interval: a worker has no sendBeacon and no page to hide.
    expect(demo.batchRequests.every((request) => request.contentType === 'application/json')).toBe(true);

    const { stats, errors } = (await askWorker(page, { type: 'stats' })) as StatsAnswer;
    expect(errors).toEqual([]);
    expect(stats).toMatchObject({ store: 'indexeddb', received: WORKER_EVENTS, delivered: WORKER_EVENTS, queued: 0, dropped: 0, health: 'healthy' });
    record(kind, { ...figures, store: stats.store, requests: demo.batchRequests.length });
  });
}

test('a service worker tracks on a message and delivers every event once', async ({ page, demo }) => {
  await page.goto(`${demo.url}e2e/blank.html`);
  const answer = await page.evaluate(async (count) => {
    await navigator.serviceWorker.register('/e2e/service-worker-homing.js');
    const registration = await navigator.serviceWorker.ready;
    const channel = new MessageChannel();
    const answered = new Promise<unknown>((resolve) => (channel.port1.onmessage = ({ data }) => resolve(data)));
    registration.active!.postMessage({ count }, [channel.port2]);
    return answered;
  }, SERVICE_WORKER_EVENTS);
  const { ids, globals, stats, errors } = answer as TrackAnswer & StatsAnswer;

  expect(globals).toEqual(WORKER_GLOBALS);
  expect(errors).toEqual([]);
  expect(ids).toHaveLength(SERVICE_WORKER_EVENTS);
  expect(stats).toMatchObject({ store: 'indexeddb', delivered: SERVICE_WORKER_EVENTS, queued: 0, dropped: 0 });
  expect(tally(demo.collector, ids)).toEqual({ unique: SERVICE_WORKER_EVENTS, duplicates: 0, missing: 0, unexpected: 0 });
  expect(arrivalOrder(demo.collector, ids)).toEqual(ids);
  record('a service worker', { ...tally(demo.collector, ids), store: stats.store, requests: demo.batchRequests.length });
});

/** Posts `message` to the page's worker and resolves with its answer. */
function askWorker(page: import('@playwright/test').Page, message: Record<string, unknown>): Promise<unknown> {
  return page.evaluate(
    (message) =>
      new Promise((resolve, reject) => {
        const worker = window.e2eWorker;
        worker.onmessage = ({ data }) => resolve(data);
        worker.onerror = (error) => reject(new Error(`the worker failed: ${error.message}`));
        worker.postMessage(message);
      }),
    message,
  );
}
