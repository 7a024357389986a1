import type { Page } from '@playwright/test';
import { arrivalOrder, burst, expect, receivedEvents, record, stats, test, trackerPage, trackerReady, waitForDelivery } from './helpers';

/** What the page holds in storage: its IndexedDB databases and its localStorage keys. */
const storageOf = (page: Page) =>
  page.evaluate(async () => ({ databases: (await indexedDB.databases()).map((db) => db.name), localStorage: Object.keys(localStorage) }));

test.describe('consent that waits', () => {
  test('10 events tracked while consent is pending touch no storage and leave nothing; optIn() sends them all, in order, with their own timestamps', async ({ page, demo }) => {
    await page.goto(trackerPage(demo, { consent: 'pending', flushInterval: 300 }));
    await trackerReady(page);
    const tracked = await burst(page, 10, 'Before Consent');
    const trackedAt = Date.now();
    await page.waitForTimeout(1_500);

    expect(await storageOf(page)).toEqual({ databases: [], localStorage: [] });
    expect(demo.collector.received().unique).toBe(0);
    expect(await stats(page)).toMatchObject({ queued: 10, requests: 0 });

    await page.waitForTimeout(500);
    await page.evaluate(() => window.homing('optIn'));
    const figures = await waitForDelivery(demo.collector, tracked, 10_000);
    expect(figures).toEqual({ unique: 10, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
    // Their own timestamps: tracked before the 2 s of waiting, not when consent came.
    for (const event of receivedEvents(demo.collector) as unknown as Array<{ timestamp: string }>) expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(trackedAt);
    record('consent pending, then optIn', figures);
  });

  test('optOut() while consent is pending deletes what waited: nothing is sent, nothing is held', async ({ page, demo }) => {
    await page.goto(trackerPage(demo, { consent: 'pending', flushInterval: 300 }));
    await trackerReady(page);
    const tracked = await burst(page, 10, 'Declined');
    await page.evaluate(() => window.homing('optOut'));
    await page.waitForTimeout(1_000);

    expect(await stats(page)).toMatchObject({ queued: 0, requests: 0 });
    expect((await storageOf(page)).databases).toEqual([]);
    expect(demo.collector.received().unique).toBe(0);
    record('consent pending, then optOut', { unique: 0, duplicates: 0, missing: tracked.length, unexpected: 0 });
  });

  test('a page that leaves while consent is pending sends nothing', async ({ page, demo }) => {
    await page.goto(trackerPage(demo, { consent: 'pending' }));
    await trackerReady(page);
    await burst(page, 10, 'Left Pending');
    await page.goto(`${demo.url}e2e/blank.html`);
    await page.waitForTimeout(1_000);

    expect(demo.collector.received().unique).toBe(0);
    expect(demo.collector.state.requests).toBe(0);
  });
});
