import type { BrowserContext, Page } from '@playwright/test';
import { expect, record, test, trackerPage, trackerReady, type Demo } from './helpers';
import { keysArrivedAfter, tallyKeys, trackKeyed } from './keyed-events';
import {
  BLANK_PATH,
  confirmedBeforeLeaving,
  countByVia,
  logPageSends,
  nextVisit,
  openClosableTab,
  pageSends,
  recordStatsAtPagehide,
  singleKey,
  statsAtPagehide,
  trackThenClose,
  trackThenNavigate,
  watchExitWire,
  type PageSend,
} from './leaving-helpers';

/**
 * Leaving a page: nothing lost, nothing sent twice. Every test is a fresh visitor (a new browser
 * context: empty storage, no answer from the collector yet) on the tracker page with homing's
 * default options, and leaves in the same task as its last `track()`, so no ordinary flush can
 * be answered first on loopback. What reached the collector before the next visit is counted
 * apart from what the next visit sent.
 */

/** A real network's round trip: no answer reaches the page before it goes, however fast loopback is. */
const NETWORK_LATENCY_MS = 300;
/** The events of a hand-off arrive within this of leaving. */
const HAND_OFF_ARRIVAL_MS = 5_000;
/** The slow collector of the issue: it answers each request after 3 s. */
const SLOW_COLLECTOR_MS = 3_000;
/** How long after leaving a lost or refused hand-off has had every chance to show up. */
const AFTER_LEAVING_MS = 1_500;
/** The browser's keepalive budget per page, shared by sendBeacon and keepalive fetch. */
const KEEPALIVE_BUDGET_BYTES = 64 * 1024;
/** The host page's own keepalive requests in flight at exit: two of 20 KiB. */
const HOST_KEEPALIVE_BYTES = [20 * 1024, 20 * 1024];
/** Events of about 2 KiB each (1.5 KiB of filler plus the envelope): 30 of them do not fit in what the host leaves. */
const LARGE_EVENT_PAD_CHARS = 1_500;

test.beforeEach(async ({ context }) => logPageSends(context));

/** Sends made while the page was leaving, and their bytes. */
function leavingSends(sends: readonly PageSend[]) {
  const leaving = sends.filter((send) => send.leaving);
  return {
    sentWhileLeaving: leaving.length,
    bytesWhileLeaving: leaving.reduce((sum, send) => sum + send.bytes, 0),
    refusedWhileLeaving: leaving.filter((send) => !send.accepted).length,
    offlineSends: sends.filter((send) => !send.onLine).length,
  };
}

async function goOffline(context: BrowserContext, demo: Demo): Promise<void> {
  demo.collector.setMode('refuse');
  await context.setOffline(true);
}

/** A fresh visitor on the tracker page: its exits watched, its stats saved at pagehide. */
async function freshVisit(page: Page, demo: Demo) {
  const wire = watchExitWire(demo);
  await page.goto(trackerPage(demo));
  await trackerReady(page);
  await recordStatsAtPagehide(page);
  return wire;
}

/** One event whose request the collector answers 503: the evidence homing has when the page goes. The collector keeps answering 503. */
async function failOnce(page: Page, demo: Demo, name: string): Promise<string[]> {
  demo.collector.setMode('503');
  const first = await trackKeyed(page, 1, name);
  await page.evaluate(() => window.homing('flush'));
  await expect.poll(() => demo.collector.state.outcomes['503'] ?? 0).toBeGreaterThanOrEqual(1);
  return first;
}

/**
 * What follows a page leaving at `leftAt` with `tracked` just tracked: the hand-off's arrival,
 * then the next visit; records the figures under `label` and checks that all arrived, once.
 */
async function expectLeftWithEverything(page: Page, demo: Demo, wire: ReturnType<typeof watchExitWire>, tracked: string[], leftAt: number, label: string) {
  const arrivedAfterMs = await keysArrivedAfter(demo.collector, tracked, leftAt, HAND_OFF_ARRIVAL_MS);
  const beforeNextVisit = tallyKeys(demo.collector, tracked);
  const sends = await pageSends(page);
  const atPagehide = await statsAtPagehide(page);

  demo.collector.setMode('ok');
  await nextVisit(page, demo);
  const figures = tallyKeys(demo.collector, tracked);
  record(label, {
    ...figures,
    arrivedBeforeNextVisit: beforeNextVisit.unique,
    arrivedAfterMs,
    confirmedBeforeLeaving: confirmedBeforeLeaving(sends),
    handedOff: atPagehide?.handedOff,
    requests: countByVia(wire.batches),
  });
  expect(beforeNextVisit, 'what the page left with, before the next visit').toMatchObject({ unique: 20, missing: 0 });
  expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
}

test.describe('a fresh visitor leaves right after tracking', () => {
  test('20 events, then navigating away in the same task: all 20 arrive within 5 s, and the next visit sends none of them again', async ({ page, demo }) => {
    const wire = await freshVisit(page, demo);
    demo.collector.setMode('slow', { delayMs: NETWORK_LATENCY_MS });

    const leftAt = performance.now();
    const tracked = await trackThenNavigate(page, 20, 'Navigate At Once');
    await expectLeftWithEverything(page, demo, wire, tracked, leftAt, 'leave-navigate-at-once');
  });

  test('20 events, then closing the tab in the same task: all 20 arrive within 5 s, and the next visit sends none of them again', async ({ page, demo }) => {
    const wire = watchExitWire(demo);
    await page.goto(`${demo.url}${BLANK_PATH.slice(1)}`);
    const tab = await openClosableTab(page, trackerPage(demo));
    await recordStatsAtPagehide(tab);
    demo.collector.setMode('slow', { delayMs: NETWORK_LATENCY_MS });

    const leftAt = performance.now();
    const tracked = await trackThenClose(tab, 20, 'Close At Once');
    await expectLeftWithEverything(page, demo, wire, tracked, leftAt, 'leave-close-at-once');
  });

  test('with a collector that answers after 3 s, 20 events and a navigation 600 ms later: all 20 arrive, and the next visit sends none again', async ({ page, demo }) => {
    const wire = await freshVisit(page, demo);
    demo.collector.setMode('slow', { delayMs: SLOW_COLLECTOR_MS });

    const trackedAt = performance.now();
    const tracked = await trackThenNavigate(page, 20, 'Slow Collector', { afterMs: 600 });
    const arrivedAfterMs = await keysArrivedAfter(demo.collector, tracked, trackedAt, SLOW_COLLECTOR_MS + HAND_OFF_ARRIVAL_MS);
    const beforeNextVisit = tallyKeys(demo.collector, tracked);
    const sends = await pageSends(page);
    const atPagehide = await statsAtPagehide(page);

    demo.collector.setMode('ok');
    await nextVisit(page, demo);
    const figures = tallyKeys(demo.collector, tracked);
    record('leave-slow-collector', {
      ...figures,
      arrivedBeforeNextVisit: beforeNextVisit.unique,
      arrivedAfterMs,
      sentBeforeLeaving: sends.filter((send) => !send.leaving && send.via !== 'fetchLater').length,
      fetchLaterArmed: sends.filter((send) => send.via === 'fetchLater').length,
      handedOff: atPagehide?.handedOff,
      requests: countByVia(wire.batches),
    });
    expect(beforeNextVisit, 'what the page left with, before the next visit').toMatchObject({ unique: 20, missing: 0 });
    expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
  });

  test("an event the host page tracks in its own pagehide listener leaves with the page, with no next visit", async ({ page, demo }) => {
    const wire = watchExitWire(demo);
    await page.goto(trackerPage(demo));
    await trackerReady(page);
    // Registered after homing's own listeners, as a host page's script would be.
    await page.evaluate(() => addEventListener('pagehide', () => window.homing('track', 'Left', { seq: 0 })));
    await recordStatsAtPagehide(page);
    const before = await trackKeyed(page, 5, 'Before Left');

    const leftAt = performance.now();
    await page.goto(`${demo.url}${BLANK_PATH.slice(1)}`);
    const tracked = [...before, singleKey('Left')];
    const arrivedAfterMs = await keysArrivedAfter(demo.collector, tracked, leftAt, HAND_OFF_ARRIVAL_MS);
    const figures = tallyKeys(demo.collector, tracked);
    const atPagehide = await statsAtPagehide(page);
    record('leave-host-pagehide-event', {
      ...figures,
      leftArrived: tallyKeys(demo.collector, [singleKey('Left')]).unique,
      arrivedAfterMs,
      handedOff: atPagehide?.handedOff,
      requests: countByVia(wire.batches),
    });
    expect(tallyKeys(demo.collector, [singleKey('Left')]).unique, "'Left' at the collector, no next visit").toBe(1);
    expect(figures).toEqual({ unique: 6, duplicates: 0, missing: 0, unexpected: 0 });
  });
});

test.describe('a fresh visitor leaves when the hand-off may not arrive', () => {
  test('offline at exit: nothing is handed off, and the next visit, online, delivers all 20 once', async ({ context, page, demo }) => {
    const wire = await freshVisit(page, demo);
    // setOffline alone does not stop a beacon sent while unloading: the collector refuses too.
    await goOffline(context, demo);

    const tracked = await trackThenNavigate(page, 20, 'Offline At Exit');
    await new Promise((resolve) => setTimeout(resolve, AFTER_LEAVING_MS));
    const beforeNextVisit = tallyKeys(demo.collector, tracked);
    const sends = await pageSends(page);
    const atPagehide = await statsAtPagehide(page);

    demo.collector.setMode('ok');
    await context.setOffline(false);
    await nextVisit(page, demo);
    const figures = tallyKeys(demo.collector, tracked);
    record('leave-offline', {
      ...figures,
      arrivedBeforeNextVisit: beforeNextVisit.unique,
      handedOff: atPagehide?.handedOff,
      ...leavingSends(sends),
      requests: countByVia(wire.batches),
    });
    expect(beforeNextVisit.unique).toBe(0);
    expect(leavingSends(sends).offlineSends, 'requests made while navigator.onLine was false').toBe(0);
    expect(atPagehide?.handedOff, 'stats().handedOff at pagehide').toBe(0);
    expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
  });

  test('a collector answering 503 up to the exit: nothing is trusted, and the next visit delivers all 20', async ({ page, demo }) => {
    const wire = await freshVisit(page, demo);
    const first = await failOnce(page, demo, 'Before 503');

    const tracked = [...first, ...(await trackThenNavigate(page, 20, 'Collector 503'))];
    await new Promise((resolve) => setTimeout(resolve, AFTER_LEAVING_MS));
    const atPagehide = await statsAtPagehide(page);
    const sends = await pageSends(page);

    demo.collector.setMode('ok');
    await nextVisit(page, demo);
    const figures = tallyKeys(demo.collector, tracked);
    record('leave-collector-503', {
      ...figures,
      handedOff: atPagehide?.handedOff,
      ...leavingSends(sends),
      outcomes: demo.collector.state.outcomes,
      requests: countByVia(wire.batches),
    });
    expect(atPagehide?.handedOff, 'stats().handedOff at pagehide').toBe(0);
    expect(figures).toMatchObject({ unique: 21, missing: 0, unexpected: 0 });
  });

  test('a hand-off the network loses while still saying online, with no earlier failure: it is counted as handed off and not sent again (the documented loss)', async ({ page, demo }) => {
    const wire = await freshVisit(page, demo);

    wire.losing = true;
    const tracked = await trackThenNavigate(page, 20, 'Lost No Failure');
    await new Promise((resolve) => setTimeout(resolve, AFTER_LEAVING_MS));
    wire.losing = false;
    const atPagehide = await statsAtPagehide(page);
    const lostKeys = wire.batches.flatMap((batch) => batch.lostKeys);

    await nextVisit(page, demo);
    const figures = tallyKeys(demo.collector, tracked);
    record('leave-lost-no-failure', {
      ...figures,
      resent: figures.unique,
      lostOnTheWire: lostKeys.length,
      handedOff: atPagehide?.handedOff,
      requests: countByVia(wire.batches),
    });
    expect(new Set(lostKeys), 'events put on the wire at exit').toEqual(new Set(tracked));
    expect(atPagehide?.handedOff, 'stats().handedOff at pagehide').toBe(20);
    expect(figures).toEqual({ unique: 0, duplicates: 0, missing: 20, unexpected: 0 });
  });

  test('a hand-off the network loses after a request failed on this visit: the next visit resends it, none missing', async ({ page, demo }) => {
    const wire = await freshVisit(page, demo);
    const first = await failOnce(page, demo, 'Before Loss');

    wire.losing = true;
    const tracked = [...first, ...(await trackThenNavigate(page, 20, 'Lost After Failure'))];
    await new Promise((resolve) => setTimeout(resolve, AFTER_LEAVING_MS));
    wire.losing = false;
    const atPagehide = await statsAtPagehide(page);
    const lostKeys = wire.batches.flatMap((batch) => batch.lostKeys);

    demo.collector.setMode('ok');
    await nextVisit(page, demo);
    const figures = tallyKeys(demo.collector, tracked);
    record('leave-lost-after-failure', {
      ...figures,
      lostOnTheWire: lostKeys.length,
      handedOff: atPagehide?.handedOff,
      requests: countByVia(wire.batches),
    });
    expect(figures).toEqual({ unique: 21, duplicates: 0, missing: 0, unexpected: 0 });
  });

  test("with 40 KiB of the host page's own keepalive requests in flight, the hand-off stays within what is left and the rest is sent later", async ({ page, demo }) => {
    const wire = await freshVisit(page, demo);
    const hostBytes = HOST_KEEPALIVE_BYTES.reduce((sum, bytes) => sum + bytes, 0);

    const tracked = await trackThenNavigate(page, 30, 'Large At Exit', { padChars: LARGE_EVENT_PAD_CHARS, hostKeepaliveBytes: HOST_KEEPALIVE_BYTES });
    await new Promise((resolve) => setTimeout(resolve, AFTER_LEAVING_MS));
    const beforeNextVisit = tallyKeys(demo.collector, tracked);
    const exitBatches = [...wire.batches];
    const bytesReachingTheServer = exitBatches.reduce((sum, batch) => sum + batch.bytes, 0);
    const sends = await pageSends(page);
    const atPagehide = await statsAtPagehide(page);

    await nextVisit(page, demo);
    const figures = tallyKeys(demo.collector, tracked);
    record('leave-keepalive-budget', {
      ...figures,
      arrivedBeforeNextVisit: beforeNextVisit.unique,
      handedOff: atPagehide?.handedOff,
      hostKeepalives: wire.hostKeepalives,
      homingBytesAtExit: bytesReachingTheServer,
      ...leavingSends(sends),
      requestsAtExit: countByVia(exitBatches),
    });
    expect(wire.hostKeepalives, "the host page's requests reached the server").toEqual(HOST_KEEPALIVE_BYTES);
    expect(bytesReachingTheServer, "homing's bodies sent at exit").toBeLessThanOrEqual(KEEPALIVE_BUDGET_BYTES - hostBytes);
    expect(atPagehide?.handedOff, 'events counted handed off, against those that arrived before the next visit').toBeLessThanOrEqual(beforeNextVisit.unique);
    expect(figures).toEqual({ unique: 30, duplicates: 0, missing: 0, unexpected: 0 });
  });
});
