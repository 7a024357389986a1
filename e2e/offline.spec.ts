import { arrivalOrder, burst, expect, record, serveBundleFromDisk, stats, test, trackerPage, trackerReady, waitForDelivery, type Demo, type PageStats } from './helpers';
import type { BrowserContext, Page } from '@playwright/test';

/**
 * Offline as far as homing can tell (`navigator.onLine` is false) and as far as the collector
 * is concerned: setOffline does not stop a sendBeacon sent while a page unloads, so the
 * collector refuses too, and a request that could not have happened offline never counts.
 */
async function goOffline(context: BrowserContext, demo: Demo): Promise<void> {
  demo.collector.setMode('refuse');
  await context.setOffline(true);
}

interface Send {
  via: 'fetch' | 'beacon';
  onLine: boolean;
}

/**
 * Logs every fetch and sendBeacon to the collector with `navigator.onLine` at that moment, in
 * localStorage so the log outlives reloads. This, not the collector's request count, is the
 * check that homing sends nothing while offline: Chromium's offline emulation now and then
 * flips to online for an instant around a reload (an `online` event, `navigator.onLine` true),
 * and a request homing then rightly sends reaches the collector, which refuses it.
 */
async function watchSends(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const log = (via: string, url: unknown) => {
      if (!String(url).includes('/v1/batch')) return;
      const sends = JSON.parse(localStorage.getItem('e2e:sends') ?? '[]');
      sends.push({ via, onLine: navigator.onLine });
      localStorage.setItem('e2e:sends', JSON.stringify(sends));
    };
    const fetch = window.fetch;
    window.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      log('fetch', input instanceof Request ? input.url : input);
      return fetch.call(this, input, init);
    } as typeof fetch;
    const sendBeacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => {
      log('beacon', url);
      return sendBeacon(url, data);
    };
  });
}

const sends = (page: Page): Promise<Send[]> => page.evaluate(() => JSON.parse(localStorage.getItem('e2e:sends') ?? '[]'));

/** The tracker's stats once it has loaded what earlier pages left: flush() waits for that load, and sends nothing offline. */
function statsAfterLoad(page: Page): Promise<PageStats> {
  return page.evaluate(() => window.homing('flush') as Promise<PageStats>);
}

async function goOnline(context: BrowserContext, demo: Demo): Promise<void> {
  demo.collector.setMode('ok');
  await context.setOffline(false);
}

test.describe('offline', () => {
  test.beforeEach(async ({ context, demo }) => {
    // The page and the bundle come from disk through routes, so the page reloads with no network.
    await serveBundleFromDisk(context, demo);
    await watchSends(context);
  });

  test('100 events tracked offline survive a reload while offline and arrive once when back online', async ({ context, page, demo }) => {
    await page.goto(trackerPage(demo, { flushInterval: 500 }));
    await trackerReady(page);
    await goOffline(context, demo);
    expect(await page.evaluate(() => navigator.onLine)).toBe(false);

    const tracked = await burst(page, 100, 'Offline Event');
    await page.reload();
    expect(await page.evaluate(() => navigator.onLine)).toBe(false);
    // Everything came back from IndexedDB, and nothing was handed off or sent while offline.
    expect(await statsAfterLoad(page)).toMatchObject({ store: 'indexeddb', queued: 100 });
    expect((await sends(page)).filter((send) => !send.onLine)).toEqual([]);
    expect(demo.collector.received().unique).toBe(0);
    const requestsWhileOffline = demo.collector.state.requests;

    await goOnline(context, demo);
    const figures = await waitForDelivery(demo.collector, tracked, 15_000);
    await expect.poll(() => stats(page).then((s) => s.queued + s.inFlight)).toBe(0);
    expect(figures).toEqual({ unique: 100, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
    record('offline, reload offline, online', { ...figures, requestsWhileOffline, requests: demo.batchRequests.length });
  });

  test('ten offline reloads in a row, each right after a burst: every event is kept, then arrives once', async ({ context, page, demo }) => {
    await page.goto(trackerPage(demo, { flushInterval: 500 }));
    await trackerReady(page);
    await goOffline(context, demo);

    const tracked: string[] = [];
    const keptAfterReload: number[] = [];
    for (let round = 1; round <= 10; round++) {
      tracked.push(...(await burst(page, 50, `Offline Round ${round}`)));
      await page.reload();
      const { queued, store } = await statsAfterLoad(page);
      keptAfterReload.push(queued);
      expect({ store, queued }, `events in storage after reload ${round}`).toEqual({ store: 'indexeddb', queued: tracked.length });
    }
    expect((await sends(page)).filter((send) => !send.onLine)).toEqual([]);
    expect(demo.collector.received().unique).toBe(0);
    const requestsWhileOffline = demo.collector.state.requests;

    await goOnline(context, demo);
    const figures = await waitForDelivery(demo.collector, tracked, 20_000);
    expect(figures).toEqual({ unique: 500, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
    record('ten offline reloads', { ...figures, keptAfterReload, requestsWhileOffline });
  });
});
