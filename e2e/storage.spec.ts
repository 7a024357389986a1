import { arrivalOrder, burst, expect, record, stats, test, trackerPage, trackerReady, waitForDelivery } from './helpers';

test.describe('without IndexedDB', () => {
  test.beforeEach(async ({ context }) => {
    // Before any page script: as in browsers or modes where IndexedDB is missing.
    await context.addInitScript(() => {
      delete (window as { indexedDB?: unknown }).indexedDB;
      if (window.indexedDB) Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
    });
  });

  test('falls back to localStorage and loses nothing across a reload while the collector refuses', async ({ page, demo }) => {
    await page.goto(trackerPage(demo, { flushInterval: 500 }));
    expect(await page.evaluate(() => window.indexedDB)).toBeUndefined();
    expect((await stats(page)).store).toBe('localstorage');

    const delivered = await burst(page, 10, 'Before Outage');
    await waitForDelivery(demo.collector, delivered, 5_000);

    demo.collector.setMode('refuse');
    const waiting = await burst(page, 10, 'During Outage');
    // The tracker has met the refusal (a failed attempt, events put back) before the page reloads.
    await expect.poll(() => stats(page).then((s) => s.retried), { timeout: 5_000 }).toBeGreaterThan(0);
    expect(demo.collector.state.outcomes.refused).toBeGreaterThanOrEqual(1);
    await page.reload();
    expect((await stats(page)).store).toBe('localstorage');
    await expect.poll(() => stats(page).then((s) => s.queued)).toBe(10);

    demo.collector.setMode('ok');
    const tracked = [...delivered, ...waiting];
    const figures = await waitForDelivery(demo.collector, tracked, 15_000);
    await expect.poll(() => stats(page).then((s) => s.queued + s.inFlight)).toBe(0);
    expect(figures).toEqual({ unique: 20, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
    record('localStorage, reload after a refusal', { ...figures, outcomes: demo.collector.state.outcomes });
  });

  test('loses nothing when the page reloads at once while the collector refuses', async ({ page, demo }) => {
    await page.goto(trackerPage(demo, { flushInterval: 500 }));
    await trackerReady(page);
    expect((await stats(page)).store).toBe('localstorage');

    demo.collector.setMode('refuse');
    const tracked = await burst(page, 10, 'During Outage');
    // One attempt fails: homing now has evidence that a hand-off may not arrive (design.md,
    // "Leaving the page"), so the reload hands nothing off and the store must still hold them.
    await page.evaluate(() => window.homing('flush'));
    await expect.poll(() => demo.collector.state.outcomes.refused ?? 0).toBeGreaterThanOrEqual(1);
    await page.reload();
    expect((await stats(page)).store).toBe('localstorage');
    await expect.poll(() => stats(page).then((s) => s.queued), { message: 'events kept in localStorage after the reload' }).toBe(10);

    demo.collector.setMode('ok');
    const figures = await waitForDelivery(demo.collector, tracked, 15_000);
    expect(figures).toMatchObject({ unique: 10, missing: 0, unexpected: 0 });
    expect(figures.duplicates).toBeLessThanOrEqual(10);
    record('localStorage, reload at once while refused', { ...figures, outcomes: demo.collector.state.outcomes });
  });
});
