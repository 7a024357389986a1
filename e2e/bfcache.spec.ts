/**
 * Runs in the `chromium-bfcache` project: Playwright turns the back/forward cache off by default.
 */
import { burst, expect, record, stats, tally, test, trackerPage, trackerReady, waitForDelivery } from './helpers';

test('a page restored from the back/forward cache keeps tracking', async ({ context, page, demo }) => {
  await context.addInitScript(() => {
    const shows: boolean[] = [];
    Object.defineProperty(window, 'e2ePageshows', { value: shows });
    addEventListener('pageshow', (event) => shows.push(event.persisted));
    // Every listener type the page adds to window or document: unload ones keep pages out of the cache.
    const types: string[] = [];
    Object.defineProperty(window, 'e2eListenerTypes', { value: types });
    for (const target of [Window.prototype, Document.prototype]) {
      const add = target.addEventListener;
      target.addEventListener = function (this: EventTarget, type: string, ...rest: unknown[]) {
        types.push(type);
        return (add as Function).call(this, type, ...rest);
      } as typeof add;
    }
  });
  // Why Chromium kept a page out of the cache, should it do so.
  const notCached: unknown[] = [];
  const cdp = await context.newCDPSession(page);
  cdp.on('Page.backForwardCacheNotUsed', (event) => notCached.push(event.notRestoredExplanations));
  await cdp.send('Page.enable');

  await page.goto(trackerPage(demo, { flushInterval: 500 }));
  await trackerReady(page);
  const listenerTypes = await page.evaluate(() => (window as unknown as { e2eListenerTypes: string[] }).e2eListenerTypes);
  expect(listenerTypes).toEqual(expect.arrayContaining(['pagehide', 'visibilitychange']));
  expect(listenerTypes).not.toContain('unload');
  expect(listenerTypes).not.toContain('beforeunload');
  const beforeLeaving = await burst(page, 5, 'Before Leaving');
  await page.goto(`${demo.url}e2e/blank.html`);
  // A restore fires no load event, so wait for the commit and then for the pageshow.
  await page.goBack({ waitUntil: 'commit' });
  await expect.poll(() => page.evaluate(() => (window as unknown as { e2ePageshows?: boolean[] }).e2ePageshows?.length)).toBe(2);

  expect(notCached).toEqual([]);
  const restored = await page.evaluate(() => ({
    pageshows: (window as unknown as { e2ePageshows: boolean[] }).e2ePageshows,
    activation: (window as unknown as { navigation?: { activation?: { navigationType: string } } }).navigation?.activation?.navigationType,
    entries: performance.getEntriesByType('navigation').map((entry) => (entry as PerformanceNavigationTiming).type),
    tracker: typeof (window.homing as { tracker?: unknown }).tracker,
  }));
  // A second pageshow, persisted, in the first document: restored from the cache, not reloaded.
  // That document keeps its own navigation entry ('navigate'): the entry reads 'back_forward'
  // only when going back loads the page anew, which is what a cache miss looks like. The
  // Navigation API records the history traversal that reactivated it.
  expect(restored).toEqual({ pageshows: [false, true], activation: 'traverse', entries: ['navigate'], tracker: 'object' });

  // The same document and the same tracker, alive again: what it tracks now arrives too.
  const afterRestore = await burst(page, 5, 'After Restore');
  const tracked = [...beforeLeaving, ...afterRestore];
  const figures = await waitForDelivery(demo.collector, tracked, 10_000);
  await expect.poll(() => stats(page).then((s) => s.queued + s.inFlight)).toBe(0);
  expect(tally(demo.collector, tracked)).toEqual({ unique: 10, duplicates: 0, missing: 0, unexpected: 0 });
  record('bfcache restore', { ...figures, notRestoredReasons: notCached.length });
});
