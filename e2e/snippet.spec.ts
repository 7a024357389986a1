import { arrivalOrder, expect, receivedEvents, record, test, waitForDelivery } from './helpers';

test.describe('the <script> snippet', () => {
  test('delivers, in order, the calls made before the bundle loaded', async ({ page, demo }) => {
    // The bundle is held back until the test lets it go, so every call below meets the stub.
    let releaseBundle!: () => void;
    const bundleHeld = new Promise<void>((resolve) => (releaseBundle = resolve));
    let bundleRequested = false;
    await page.route(`${demo.url}dist/homing.iife.js`, async (route) => {
      bundleRequested = true;
      await bundleHeld;
      await route.continue();
    });

    await page.goto(`${demo.url}e2e/snippet.html`, { waitUntil: 'domcontentloaded' });
    await expect.poll(() => bundleRequested).toBe(true);
    // Still the stub: init, on, page and five tracks recorded, no tracker yet.
    expect(await page.evaluate(() => ({ queued: (window.homing as { q?: unknown[] }).q?.length, loaded: 'tracker' in window.homing }))).toEqual({
      queued: 8,
      loaded: false,
    });
    // More calls from the page while the bundle is still on its way.
    await page.evaluate(() => {
      for (let seq = 6; seq <= 10; seq++) window.homing('track', 'Early Event', { seq });
    });

    releaseBundle();
    await expect.poll(() => page.evaluate(() => 'tracker' in window.homing)).toBe(true);
    // The replayed calls are enriched in a task of their own, after init.
    const queued = () => page.evaluate(() => (window as unknown as { e2eQueued: string[] }).e2eQueued);
    await expect.poll(() => queued().then((ids) => ids.length)).toBe(11);
    const tracked = await queued();

    const figures = await waitForDelivery(demo.collector, tracked, 10_000);
    expect(figures).toEqual({ unique: 11, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
    const events = receivedEvents(demo.collector);
    expect(events[0]).toMatchObject({ type: 'page', name: 'Snippet Fixture' });
    expect(events.slice(1).map((event) => event.properties?.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    record('snippet stub replay', figures);
  });

  test('initialises itself from the data- attributes of an async script tag', async ({ page, demo }) => {
    await page.goto(`${demo.url}e2e/auto-init.html`);
    // No init call on the page: a tracker exists only if the script tag configured one.
    await expect.poll(() => page.evaluate(() => typeof window.homing === 'function' && 'tracker' in window.homing)).toBe(true);
    const tracked = await page.evaluate(() => {
      const ids: string[] = [];
      const off = window.homing('on', 'queued', (event: { messageId: string }) => ids.push(event.messageId)) as () => void;
      for (let seq = 0; seq < 3; seq++) window.homing('track', 'Auto Init Event', { seq });
      // A burst is enriched in a task of its own; stats() has it done now.
      window.homing('stats');
      off();
      return ids;
    });

    // Well inside the default 5 s flushInterval: data-flush-interval="500" was read too.
    const figures = await waitForDelivery(demo.collector, tracked, 3_000);
    expect(figures).toEqual({ unique: 3, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
    record('data- attribute auto-init', figures);
  });
});
