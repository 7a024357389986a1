/**
 * Runs in the `chromium-bfcache` project: Playwright turns the back/forward cache off by default.
 */
import { eventually, expect, record, test, trackerReady } from './helpers';
import { keysArrivedAfter, recordSentKeys, tallyKeys, trackKeyed } from './keyed-events';
import { heldPerTab, isolatedStorageKey, openTab, tabPage, watchWire } from './tabs-helpers';

/** Both tabs flush within half a second, so the cached page has tried and failed before it leaves. */
const FLUSH_INTERVAL = 500;
/** A live tab adopts an orphaned queue within this (at start, on the storage event, or now and then). */
const ADOPTION_TIMEOUT_MS = 15_000;
/** After both queues are empty, this long for a resend by the restored page (its backoff, its reread) to show. */
const SETTLE_MS = 3_000;

test('a page restored from the back/forward cache after another tab adopted its queue sends none of those events again', async ({ context, page, demo }) => {
  await context.addInitScript(() => {
    const shows: boolean[] = [];
    Object.defineProperty(window, 'e2ePageshows', { value: shows });
    addEventListener('pageshow', (event) => shows.push(event.persisted));
  });
  const pageshows = () => page.evaluate(() => (window as unknown as { e2ePageshows?: boolean[] }).e2ePageshows);
  // Why Chromium kept the page out of the cache, should it do so.
  const notCached: unknown[] = [];
  const cdp = await context.newCDPSession(page);
  cdp.on('Page.backForwardCacheNotUsed', (event) => notCached.push(event.notRestoredExplanations));
  await cdp.send('Page.enable');

  const wire = watchWire(demo);
  const url = tabPage(demo, { flushInterval: FLUSH_INTERVAL, storageKey: isolatedStorageKey('bfcache-adoption') });
  await page.goto(url);
  await trackerReady(page);
  const adopter = await openTab(context, url);
  const sentByTheAdopter = recordSentKeys(adopter);

  // The page's own request fails, so its hand-off at exit is not trusted: the events stay in its queue.
  demo.collector.setMode('refuse');
  const cached = await trackKeyed(page, 20, 'Before The Cache');
  await expect.poll(() => demo.collector.state.outcomes.refused ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  await page.goto(`${demo.url}e2e/blank.html`);
  const leftAt = performance.now();
  demo.collector.setMode('ok');

  // While the page sits in the cache, only the other tab can send its events.
  const adoptedAfterMs = await keysArrivedAfter(demo.collector, cached, leftAt, ADOPTION_TIMEOUT_MS);
  const arrivedWhileCached = tallyKeys(demo.collector, cached).unique;

  await page.goBack({ waitUntil: 'commit' });
  // A page the cache did not keep loads anew (one pageshow); the scenario goes on to measure that too.
  await eventually(() => pageshows().then((shows) => (shows?.length ?? 0) >= 2), 5_000);
  const restored = await pageshows();
  const afterRestore = await trackKeyed(page, 5, 'After Restore');
  const tracked = [...cached, ...afterRestore];
  await keysArrivedAfter(demo.collector, tracked, performance.now(), 10_000);
  await expect.poll(() => heldPerTab([page, adopter]), { timeout: 10_000 }).toEqual([0, 0]);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

  const figures = tallyKeys(demo.collector, tracked);
  record('bfcache-adoption', {
    ...figures,
    adoptedAfterMs,
    arrivedWhileCached,
    sentByTheAdopter: sentByTheAdopter.filter((key) => cached.includes(key)).length,
    pageshows: restored,
    notRestoredReasons: notCached,
    requests: wire.requests.length,
  });
  expect(notCached, 'reasons Chromium kept the page out of the cache').toEqual([]);
  expect(restored, 'a second pageshow, persisted: restored from the cache').toEqual([false, true]);
  expect(arrivedWhileCached, "the cached page's events, adopted by the other tab while it was in the cache").toBe(20);
  expect(figures).toEqual({ unique: 25, duplicates: 0, missing: 0, unexpected: 0 });
});
