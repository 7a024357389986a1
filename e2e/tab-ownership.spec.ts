import type { Page } from '@playwright/test';
import { expect, test, trackerPage, type Collector } from './helpers';
import { keysArrivedAfter, recordSentKeys, tallyKeys, trackKeyed } from './keyed-events';
import { byVia, crash, heldPerTab, isolatedStorageKey, openTab, requestsPerTab, summarize, tabPage, watchWire } from './tabs-helpers';

/**
 * Every tab owns its queue: a tab sends what it tracked, a tab that closes or crashes leaves its
 * queue to a live tab, and a frame with no storage and no locks still sends its own. Events are
 * told apart by name and `seq` (keyed-events.ts); each scenario prints its unique, duplicate and
 * missing counts with the timing it is about.
 */

/** Batches go out soon after track(): the scenarios take seconds, not minutes. */
const FLUSH_INTERVAL = 300;
/** No ordinary flush for a minute: whatever leaves, leaves because the tab went. */
const NO_ORDINARY_FLUSH = 60_000;
/** A closed or crashed tab's queue reaches the collector within this of the tab going. */
const ORPHAN_DELIVERY_MS = 2_000;
/** A real network's round trip: an answer cannot beat page.close() here, however fast loopback is. */
const NETWORK_LATENCY_MS = 300;
/** Long enough for a store write of 20 events to commit, short of any flush. */
const WRITES_LAND_MS = 500;
/** After the queues are empty, this long for a late resend (an adoption, a deferred fetch) to show. */
const SETTLE_MS = 2_000;
/** How long a crashed tab shows its sad tab before it is closed. */
const SAD_TAB_OPEN_MS = 1_000;
/** How long a sad tab's closing has to send what the browser still holds for it (an armed fetchLater). */
const SAD_TAB_CLOSE_MS = 3_000;
/** The slow collector of the in-flight variant: the batch is unanswered when the tab dies. */
const SLOW_COLLECTOR_MS = 3_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Leaves the crashed tab's sad tab open for a second, as a user notices it, then closes it:
 * Chromium sends a dead document's armed fetchLater only when that document goes. Returns what
 * had arrived while the sad tab was still open.
 */
async function sadTabClosedAfter(sadTab: Page, collector: Collector, keys: readonly string[]): Promise<{ arrivedWhileSadTabOpen: number }> {
  await sleep(SAD_TAB_OPEN_MS);
  const arrivedWhileSadTabOpen = tallyKeys(collector, keys).unique;
  await sadTab.close();
  return { arrivedWhileSadTabOpen };
}

async function settled(pages: readonly Page[]): Promise<void> {
  await expect.poll(() => heldPerTab(pages), { timeout: 10_000 }).toEqual(pages.map(() => 0));
  await sleep(SETTLE_MS);
}

test.describe('every tab owns its queue', () => {
  test('4 tabs each track 100 events offline; back online, the collector holds all 400, none twice', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: FLUSH_INTERVAL, storageKey: isolatedStorageKey('own-offline') });
    const tabs: Page[] = [];
    for (let i = 0; i < 4; i++) tabs.push(await openTab(context, url));

    demo.collector.setMode('refuse');
    await context.setOffline(true);
    const tracked: string[] = [];
    for (const [i, tab] of tabs.entries()) tracked.push(...(await trackKeyed(tab, 100, `Offline Tab ${i + 1}`)));
    await sleep(WRITES_LAND_MS);
    expect(tallyKeys(demo.collector, tracked).unique).toBe(0);
    const requestsWhileOffline = wire.requests.length;

    const onlineAt = performance.now();
    demo.collector.setMode('ok');
    await context.setOffline(false);
    const deliveredAfterMs = await keysArrivedAfter(demo.collector, tracked, onlineAt, 20_000);
    await settled(tabs);
    const figures = tallyKeys(demo.collector, tracked);
    summarize('own-queue-offline', figures, tracked.length, {
      deliveredAfterMs,
      requestsPerTab: await requestsPerTab(tabs),
      requestsWhileOffline,
      requests: byVia(wire.requests),
    });
    expect(figures).toEqual({ unique: 400, duplicates: 0, missing: 0, unexpected: 0 });
  });

  test('a tab closed normally with 20 events queued: they arrive within 2 s, from it or a live tab, none missing and none twice', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: NO_ORDINARY_FLUSH, storageKey: isolatedStorageKey('own-close') });
    const closing = await openTab(context, url);
    const live = await openTab(context, url);
    const sentByTheClosingTab = recordSentKeys(closing);
    const sentByTheLiveTab = recordSentKeys(live);
    demo.collector.setMode('slow', { delayMs: NETWORK_LATENCY_MS });

    const tracked = await trackKeyed(closing, 20, 'Closed Normally');
    await closing.close({ runBeforeUnload: false });
    const closedAt = performance.now();
    const arrivedBeforeClose = tallyKeys(demo.collector, tracked).unique;
    const deliveredAfterMs = await keysArrivedAfter(demo.collector, tracked, closedAt, 10_000);
    demo.collector.setMode('ok');
    await live.evaluate(() => window.homing('flush'));
    await settled([live]);

    const figures = tallyKeys(demo.collector, tracked);
    summarize('own-queue-close', figures, tracked.length, {
      deliveredAfterMs,
      arrivedBeforeClose,
      sentByTheClosingTab: sentByTheClosingTab.length,
      sentByTheLiveTab: sentByTheLiveTab.length,
      pagehideMarkers: wire.pagehideMarkers.length,
      requests: byVia(wire.requests),
    });
    expect(wire.pagehideMarkers, 'the closing tab ran its pagehide handlers').toHaveLength(1);
    expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
    expect(deliveredAfterMs, 'ms from the close until all 20 had arrived').toBeLessThan(ORPHAN_DELIVERY_MS);
  });

  test('a tab crashed with no request in flight: its queue is delivered within 2 s of the crash (the sad tab closed after 1 s), none twice', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: NO_ORDINARY_FLUSH, storageKey: isolatedStorageKey('own-crash-idle') });
    const crashing = await openTab(context, url);
    const live = await openTab(context, url);
    const sentByTheLiveTab = recordSentKeys(live);
    // The crashing tab's first batch is behind it: whatever rule sends a page's first events soon has had its turn.
    const warmUp = await trackKeyed(crashing, 1, 'Warm Up');
    await crashing.evaluate(() => window.homing('flush'));
    expect(await keysArrivedAfter(demo.collector, warmUp, performance.now(), 5_000)).toBeDefined();
    const requestsBefore = wire.requests.length;

    const tracked = await trackKeyed(crashing, 20, 'Crashed Idle');
    await sleep(WRITES_LAND_MS);
    const requestsInFlightAtCrash = wire.requests.length - requestsBefore;
    // Timed from the call: the crash event comes only after the browser has freed the tab's locks.
    const crashedAt = performance.now();
    await crash(context, crashing);
    // Watched from the crash on, and well past the 2 s target, so that a late delivery is measured rather than cut off.
    const delivered = keysArrivedAfter(demo.collector, tracked, crashedAt, 20_000);
    const whileSadTabOpen = await sadTabClosedAfter(crashing, demo.collector, tracked);
    const deliveredAfterMs = await delivered;
    await sleep(SAD_TAB_CLOSE_MS);
    await settled([live]);
    const figures = tallyKeys(demo.collector, [...warmUp, ...tracked]);
    summarize('own-queue-crash-idle', figures, tracked.length, {
      deliveredAfterMs,
      requestsInFlightAtCrash,
      ...whileSadTabOpen,
      sentByTheLiveTab: sentByTheLiveTab.length,
      pagehideMarkers: wire.pagehideMarkers.length,
      requests: byVia(wire.requests),
    });
    expect(requestsInFlightAtCrash, 'requests made between the burst and the crash').toBe(0);
    expect(wire.pagehideMarkers, 'the crashed tab ran no pagehide handler').toEqual([]);
    expect(figures).toEqual({ unique: 21, duplicates: 0, missing: 0, unexpected: 0 });
    expect(deliveredAfterMs, 'ms from the crash until all 20 had arrived').toBeLessThan(ORPHAN_DELIVERY_MS);
  });

  test('a tab crashed with a batch in flight: its queue is delivered within 2 s of the crash (the sad tab closed after 1 s), and no more than that batch arrives twice', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: NO_ORDINARY_FLUSH, storageKey: isolatedStorageKey('own-crash-in-flight') });
    const crashing = await openTab(context, url);
    const live = await openTab(context, url);
    const sentByTheLiveTab = recordSentKeys(live);

    // The collector holds the batch unanswered; a request whose renderer dies is never accepted.
    demo.collector.setMode('slow', { delayMs: SLOW_COLLECTOR_MS });
    const tracked = await trackKeyed(crashing, 20, 'Crashed In Flight');
    await crashing.evaluate(() => void window.homing('flush'));
    await expect.poll(() => wire.requests.length, { timeout: 5_000, intervals: [20] }).toBe(1);
    const batchInFlight = tracked.length;
    // Timed from the call: the crash event comes only after the browser has freed the tab's locks.
    const crashedAt = performance.now();
    await crash(context, crashing);
    demo.collector.setMode('ok');
    // Watched from the crash on, and well past the 2 s target, so that a late delivery is measured rather than cut off.
    const delivered = keysArrivedAfter(demo.collector, tracked, crashedAt, 20_000);
    const whileSadTabOpen = await sadTabClosedAfter(crashing, demo.collector, tracked);
    const deliveredAfterMs = await delivered;
    await sleep(SAD_TAB_CLOSE_MS);
    await settled([live]);
    const figures = tallyKeys(demo.collector, tracked);
    summarize('own-queue-crash-in-flight', figures, tracked.length, {
      deliveredAfterMs,
      batchInFlight,
      ...whileSadTabOpen,
      inFlightOutcome: wire.requests[0]!.outcome,
      sentByTheLiveTab: sentByTheLiveTab.length,
      requests: byVia(wire.requests),
    });
    expect(figures).toMatchObject({ unique: 20, missing: 0, unexpected: 0 });
    expect(figures.duplicates, 'wire duplicates, against the batch in flight at the crash').toBeLessThanOrEqual(batchInFlight);
    expect(deliveredAfterMs, 'ms from the crash until all 20 had arrived').toBeLessThan(ORPHAN_DELIVERY_MS);
  });

  test('a sandboxed iframe (opaque origin, no storage, locks refused) delivers its own events', async ({ page, demo }) => {
    await page.goto(`${demo.url}e2e/blank.html`);
    const src = trackerPage(demo, { flushInterval: FLUSH_INTERVAL });
    await page.evaluate((src) => {
      const frame = document.createElement('iframe');
      frame.setAttribute('sandbox', 'allow-scripts');
      frame.src = src;
      document.body.append(frame);
    }, src);
    await expect.poll(() => page.frames().some((frame) => frame.url().includes('/e2e/tracker.html'))).toBe(true);
    const frame = page.frames().find((frame) => frame.url().includes('/e2e/tracker.html'))!;
    await frame.waitForFunction(() => typeof window.homing === 'function');
    await frame.evaluate(() => window.homing('flush'));

    const sandbox = await frame.evaluate(async () => {
      const refusedOrAvailable = (use: () => unknown) => {
        try {
          use();
          return 'available';
        } catch (error) {
          return (error as Error).name;
        }
      };
      const lock = await navigator.locks
        .request('homing-e2e-probe', () => 'granted')
        .then(
          (outcome) => String(outcome),
          (error: Error) => error.name,
        );
      return { origin: self.origin, localStorage: refusedOrAvailable(() => localStorage.length), indexedDB: refusedOrAvailable(() => indexedDB.open('probe')), lock };
    });
    expect(sandbox).toEqual({ origin: 'null', localStorage: 'SecurityError', indexedDB: 'SecurityError', lock: 'SecurityError' });

    const trackedAt = performance.now();
    const tracked = await trackKeyed(frame, 20, 'Sandboxed');
    const deliveredAfterMs = await keysArrivedAfter(demo.collector, tracked, trackedAt, 10_000);
    const frameStats = await frame.evaluate(() => window.homing('stats') as { store: string; queued: number; requests: number });
    const figures = tallyKeys(demo.collector, tracked);
    summarize('own-queue-sandboxed-iframe', figures, tracked.length, { deliveredAfterMs, store: frameStats.store, requests: frameStats.requests, sandbox });
    expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
  });
});
