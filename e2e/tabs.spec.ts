import type { BrowserContext, Page } from '@playwright/test';
import { burst, eventually, expect, receivedEvents, tally, test, waitForDelivery } from './helpers';
import { byVia, crash, heldPerTab, isolatedStorageKey, openTab, recordSends, requestsPerTab, summarize, tabPage, watchWire } from './tabs-helpers';

/**
 * Many tabs, crashes, and exactly-once at the collector. Tabs of one browser context share one
 * origin's IndexedDB and Web Locks: each tab owns its queue and holds its lock, and a tab that
 * dies leaves its queue to a live tab or the next visit, which adopts it. Each scenario prints
 * its unique / duplicate / missing counts. (e2e/tab-ownership.spec.ts has the scenarios of the
 * per-tab design with their targets.)
 */

/** Batches go out soon after track(): the scenarios take seconds, not minutes. */
const FLUSH_INTERVAL = 300;
/** A request unanswered for 1 s is given up. */
const TIMEOUT = 1_000;

test.describe('several tabs of one origin', () => {
  const endings: Record<string, (context: BrowserContext, page: Page) => Promise<void>> = {
    crashes: crash,
    'is closed': (_context, page) => page.close({ runBeforeUnload: false }),
  };
  for (const [ending, end] of Object.entries(endings)) {
    for (const rescuer of ['another open tab', 'the next visit'] as const) {
      // The batch's answer is lost with the tab (a live page's requests are not keepalive ones):
      // its queue's next owner sends the batch again, at most once more on the wire.
      test(`a tab that ${ending} with a batch in flight: ${rescuer} adopts its queue and sends the batch again`, async ({ context, demo }) => {
        const wire = watchWire(demo);
        const url = tabPage(demo, { flushInterval: FLUSH_INTERVAL, timeout: TIMEOUT, storageKey: isolatedStorageKey('in-flight') });
        const dying = await openTab(context, url);
        const other = rescuer === 'another open tab' ? await openTab(context, url) : undefined;
        const otherSends = other && recordSends(other);

        // The collector holds the batch unanswered for a while.
        demo.collector.setMode('slow', { delayMs: 3_000 });
        const tracked = await burst(dying, 20, 'In Flight');
        await expect.poll(() => wire.requests.length, { timeout: 5_000, intervals: [20] }).toBe(1);
        await end(context, dying);
        const diedAt = performance.now();
        demo.collector.setMode('ok');

        let nextSends = otherSends;
        const next = other ?? (await openTab(context, url, (page) => (nextSends = recordSends(page))));
        await waitForDelivery(demo.collector, tracked, 8_000);
        const arrivedAfterMs = Math.round(performance.now() - diedAt);
        const pagehideRan = wire.pagehideMarkers.length;
        if (!dying.isClosed()) await dying.close();
        // Whatever the browser would still send for the dead tab (a fetchLater) has had its chance.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await expect.poll(() => heldPerTab([next])).toEqual([0]);
        const figures = tally(demo.collector, tracked);
        const label = `tabs-${ending === 'crashes' ? 'crash' : 'close'}-in-flight-${rescuer === 'another open tab' ? 'other-tab' : 'next-visit'}`;
        summarize(label, figures, tracked.length, { arrivedAfterMs, requests: byVia(wire.requests) });
        expect(figures).toMatchObject({ unique: 20, missing: 0, unexpected: 0 });
        expect(pagehideRan).toBe(ending === 'crashes' ? 0 : 1);
        expect(nextSends!.flat(), 'the batch was sent again by its next owner').toEqual(expect.arrayContaining(tracked));
        // At most the batch that was in flight goes twice on the wire; none after dedupe.
        expect(figures.duplicates).toBeLessThanOrEqual(tracked.length);
        expect(arrivedAfterMs).toBeLessThan(5_000);
      });
    }
  }

  test('a tab closed right after a burst: what its beacons did not carry, the tab left adopts and sends, the writes that never landed included', async ({ context, demo }) => {
    const url = tabPage(demo, { flushInterval: FLUSH_INTERVAL, storageKey: isolatedStorageKey('rescue') });
    const sender = await openTab(context, url);
    const closing = await openTab(context, url);
    const sent = recordSends(sender);

    // 1,000 events are four store writes of 250, one after the other: the page goes before the last land.
    const tracked = await burst(closing, 1_000, 'Closed Right After');
    await closing.close({ runBeforeUnload: false });
    const closedAt = performance.now();

    const figures = await waitForDelivery(demo.collector, tracked, 10_000);
    const deliveredAfterMs = Math.round(performance.now() - closedAt);
    summarize('tabs-rescue', figures, tracked.length, { deliveredAfterMs, sentByTheTabLeft: sent.flat().length });
    expect(figures).toMatchObject({ unique: 1_000, missing: 0, unexpected: 0 });
    // Only the batch in flight as the tab closed (its answer lost with the tab) goes twice.
    expect(figures.duplicates).toBeLessThanOrEqual(50);
    // The page's exit hand-off is bounded: most of the burst is left to the tab that stays.
    expect(sent.flat().length).toBeGreaterThan(500);
  });

  test('the sending tab closes with events waiting: its beacon carries them, and the tab taking over does not send them again', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: 60_000, storageKey: isolatedStorageKey('hand-off-takeover') });
    const first = await openTab(context, url);
    const second = await openTab(context, url);
    const secondSends = recordSends(second);
    // The collector answered lately, so the closing tab trusts its beacon to arrive and notes it as sent.
    const answered = await burst(first, 5, 'Answered');
    await first.evaluate(() => window.homing('flush'));
    const waiting = await burst(first, 20, 'Waiting');

    await first.close({ runBeforeUnload: false });
    const tracked = [...answered, ...waiting];
    await waitForDelivery(demo.collector, tracked, 5_000);
    // The second tab adopted the first one's queue at once, and found the waiting events carried by the beacon.
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const figures = tally(demo.collector, tracked);
    summarize('tabs-hand-off-then-takeover', figures, tracked.length, { requests: byVia(wire.requests), sentByTheTabTakingOver: secondSends.flat().length });
    expect(byVia(wire.requests)).toEqual({ fetch: 1, beacon: 1 });
    expect(secondSends).toEqual([]);
    expect(figures).toEqual({ unique: 25, duplicates: 0, missing: 0, unexpected: 0 });
  });

  test('a tab killed without pagehide still delivers its waiting events through the armed fetchLater, with no next visit', async ({ context, demo }) => {
    const wire = watchWire(demo);
    // No ordinary flush for a minute: only the deferred request can carry these events.
    const url = tabPage(demo, { flushInterval: 60_000, storageKey: isolatedStorageKey('fetch-later') });
    const tab = await openTab(context, url);
    expect(await tab.evaluate(() => typeof (window as { fetchLater?: unknown }).fetchLater)).toBe('function');
    const tracked = await burst(tab, 20, 'Armed');

    await crash(context, tab);
    // The dead renderer runs nothing more: no pagehide, no beacon, no request.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(wire.requests).toEqual([]);
    // Chromium sends a dead document's deferred requests when the document goes: the sad tab closing.
    await tab.close();
    const figures = await waitForDelivery(demo.collector, tracked, 5_000);

    summarize('tabs-fetch-later-after-crash', figures, tracked.length, { requests: byVia(wire.requests), pagehideMarkers: wire.pagehideMarkers.length });
    expect(byVia(wire.requests)).toEqual({ fetchLater: 1 });
    expect(wire.pagehideMarkers).toEqual([]);
    expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
  });

  test('a tab closed normally hands its events off at pagehide and its disarmed fetchLater sends nothing more', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: 60_000, storageKey: isolatedStorageKey('fetch-later-disarmed') });
    const tab = await openTab(context, url);
    const tracked = await burst(tab, 20, 'Handed Off');

    await tab.close({ runBeforeUnload: false });
    await waitForDelivery(demo.collector, tracked, 5_000);
    // Whatever the browser would still send (a fetchLater left armed) has had its chance.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    summarize('tabs-fetch-later-disarmed-at-pagehide', tally(demo.collector, tracked), tracked.length, { requests: byVia(wire.requests) });
    expect(wire.pagehideMarkers).toHaveLength(1);
    expect(byVia(wire.requests)).toEqual({ beacon: 1 });
    expect(tally(demo.collector, tracked)).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
  });
});
