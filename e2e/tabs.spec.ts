import type { BrowserContext, Page } from '@playwright/test';
import { burst, eventually, expect, receivedEvents, tally, test, waitForDelivery } from './helpers';
import { byVia, crash, heldPerTab, isolatedStorageKey, openTab, recordSends, requestsPerTab, summarize, tabPage, watchWire } from './tabs-helpers';

/**
 * Many tabs, crashes, and exactly-once at the collector. Tabs of one browser context share one
 * origin's IndexedDB and Web Locks: only the tab holding the sender lock sends, a batch in flight
 * is leased to its tab, and a tab that dies leaves its events to the next sender. Each scenario
 * prints its unique / duplicate / missing counts.
 */

/** Batches go out soon after track(): the scenarios take seconds, not minutes. */
const FLUSH_INTERVAL = 300;
/** A request unanswered for 1 s is given up; a batch in flight is leased for that plus the tracker's 5 s margin. */
const TIMEOUT = 1_000;
const LEASE_MS = TIMEOUT + 5_000;

test.describe('several tabs of one origin', () => {
  test('4 tabs each track 100 events offline; back online, one tab sends all 400, once each', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: FLUSH_INTERVAL, storageKey: isolatedStorageKey('offline') });
    const tabs: Page[] = [];
    for (let i = 0; i < 4; i++) tabs.push(await openTab(context, url));
    const sends = tabs.map(recordSends);

    // Offline for homing (navigator.onLine) and for the collector, which refuses whatever still comes.
    demo.collector.setMode('refuse');
    await context.setOffline(true);
    const tracked: string[] = [];
    for (const [i, tab] of tabs.entries()) tracked.push(...(await burst(tab, 100, `Offline Tab ${i + 1}`)));
    // Every tab's events are in the shared store: each tab sees all 400 there.
    await expect.poll(() => heldPerTab(tabs), { timeout: 10_000 }).toEqual([400, 400, 400, 400]);
    expect(demo.collector.received().unique).toBe(0);
    const requestsWhileOffline = wire.requests.length;

    demo.collector.setMode('ok');
    await context.setOffline(false);
    const figures = await waitForDelivery(demo.collector, tracked, 20_000);
    await expect.poll(() => heldPerTab(tabs), { timeout: 10_000 }).toEqual([0, 0, 0, 0]);

    const perTab = await requestsPerTab(tabs);
    summarize('tabs-offline', figures, tracked.length, { requestsPerTab: perTab, requestsWhileOffline, requests: byVia(wire.requests) });
    expect(perTab.filter((requests) => requests > 0), `requests made by each tab: ${perTab}`).toHaveLength(1);
    expect(sends.filter((requests) => requests.length > 0)).toHaveLength(1);
    expect(figures).toMatchObject({ unique: 400, missing: 0, unexpected: 0 });
    expect(figures.duplicates).toBeLessThanOrEqual(tracked.length / 100);
    const accepted = receivedEvents(demo.collector).map((event) => event.messageId);
    expect(new Set(accepted).size).toBe(accepted.length);
  });

  const endings: Record<string, (context: BrowserContext, page: Page) => Promise<void>> = {
    crashes: crash,
    'is closed': (_context, page) => page.close({ runBeforeUnload: false }),
  };
  for (const [ending, end] of Object.entries(endings)) {
    for (const rescuer of ['another open tab', 'the next visit'] as const) {
      // The batch is leased only while another tab waits for the lock; a tab alone skips the lease's store write.
      const leased = rescuer === 'another open tab';
      test(`a tab that ${ending} with a batch in flight: ${rescuer} sends the batch ${leased ? 'once its lease runs out' : 'again at once'}`, async ({ context, demo }) => {
        const wire = watchWire(demo);
        const url = tabPage(demo, { flushInterval: FLUSH_INTERVAL, timeout: TIMEOUT, storageKey: isolatedStorageKey('in-flight') });
        const dying = await openTab(context, url);
        const other = rescuer === 'another open tab' ? await openTab(context, url) : undefined;
        const otherSends = other && recordSends(other);

        // The collector holds the batch unanswered; a request whose client goes away is never accepted.
        demo.collector.setMode('slow', { delayMs: 3_000 });
        const tracked = await burst(dying, 20, 'In Flight');
        await expect.poll(() => wire.requests.length, { timeout: 5_000, intervals: [20] }).toBe(1);
        await end(context, dying);
        const diedAt = performance.now();
        demo.collector.setMode('ok');

        let nextSends = otherSends;
        const next = other ?? (await openTab(context, url, (page) => (nextSends = recordSends(page))));
        await waitForDelivery(demo.collector, tracked, LEASE_MS + 8_000);
        const arrivedAfterMs = Math.round(performance.now() - diedAt);
        if (leased) expect(arrivedAfterMs).toBeGreaterThanOrEqual(LEASE_MS - 1_000);
        expect(nextSends!.flat(), 'the batch was sent again by the tab left').toEqual(expect.arrayContaining(tracked));
        // The dying tab's own request was cut off before the collector answered it.
        expect(wire.requests[0]!.outcome).toBe('aborted');

        // A crashed tab's fetchLater is still armed with the batch: the browser sends it when the sad tab goes.
        const pagehideRan = wire.pagehideMarkers.length;
        if (!dying.isClosed()) await dying.close();
        await eventually(() => wire.requests.some((request) => request.via === 'fetchLater'), ending === 'crashes' ? 3_000 : 1_000);
        await expect.poll(() => heldPerTab([next])).toEqual([0]);
        const figures = tally(demo.collector, tracked);
        const label = `tabs-${ending === 'crashes' ? 'crash' : 'close'}-in-flight-${rescuer === 'another open tab' ? 'other-tab' : 'next-visit'}`;
        summarize(label, figures, tracked.length, { arrivedAfterMs, requests: byVia(wire.requests) });
        expect(figures).toMatchObject({ unique: 20, missing: 0, unexpected: 0 });
        // At most one resend of the batch on the wire (the crashed tab's fetchLater); none after dedupe.
        expect(figures.duplicates).toBeLessThanOrEqual(tracked.length);
        expect(pagehideRan).toBe(ending === 'crashes' ? 0 : 1);
        expect(arrivedAfterMs).toBeLessThan(LEASE_MS + 5_000);
      });
    }
  }

  test('a tab closed right after a burst: the sender left sends all of it, the writes that never landed included', async ({ context, demo }) => {
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
    summarize('tabs-rescue', figures, tracked.length, { deliveredAfterMs, sentByTheSender: sent.flat().length });
    expect(figures).toMatchObject({ unique: 1_000, missing: 0, unexpected: 0 });
    expect(sent.flat()).toEqual(expect.arrayContaining(tracked));
  });

  test('when the sending tab closes, another tab takes over sending within seconds', async ({ context, demo }) => {
    const wire = watchWire(demo);
    const url = tabPage(demo, { flushInterval: FLUSH_INTERVAL, storageKey: isolatedStorageKey('takeover') });
    const first = await openTab(context, url);
    const second = await openTab(context, url);
    const [firstSends, secondSends] = [recordSends(first), recordSends(second)];

    // While the first tab holds the lock, it sends the second tab's events too.
    const before = await burst(second, 10, 'Before Takeover');
    await waitForDelivery(demo.collector, before, 5_000);
    expect(firstSends.flat()).toEqual(expect.arrayContaining(before));
    expect(secondSends).toEqual([]);

    await first.close({ runBeforeUnload: false });
    const closedAt = performance.now();
    const after = await burst(second, 10, 'After Takeover');
    await waitForDelivery(demo.collector, after, 5_000);
    const takeoverMs = Math.round(performance.now() - closedAt);

    const tracked = [...before, ...after];
    const figures = tally(demo.collector, tracked);
    summarize('tabs-takeover', figures, tracked.length, { takeoverMs, requests: byVia(wire.requests) });
    expect(takeoverMs).toBeLessThan(5_000);
    expect(secondSends.flat()).toEqual(expect.arrayContaining(after));
    expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
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
    // The second tab got the lock at once: it has looked at the shared store, and sent what it found there.
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
