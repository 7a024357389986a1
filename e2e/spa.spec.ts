import { arrivalOrder, expect, receivedEvents, record, test, waitForDelivery } from './helpers';

interface Queued {
  messageId: string;
  type: string;
  title?: unknown;
  path: string;
}

test('the ESM SPA sends one page event per route change, with the route\'s title (homing/pageviews)', async ({ context, page, demo }) => {
  // spa.js assigns window.tracker before its first render(): catch it there to see every event queued.
  await context.addInitScript(() => {
    const queued: Array<{ messageId: string; type: string; title?: unknown; path: string }> = [];
    let tracker: unknown;
    Object.defineProperty(window, 'e2eQueued', { value: queued });
    Object.defineProperty(window, 'tracker', {
      configurable: true,
      get: () => tracker,
      set(value: { on(name: string, listener: (event: { messageId: string; type: string; properties?: { title?: unknown } }) => void): void }) {
        tracker = value;
        value.on('queued', (event) => queued.push({ messageId: event.messageId, type: event.type, title: event.properties?.title, path: location.pathname }));
      },
    });
  });

  const queuedCount = () => page.evaluate(() => (window as unknown as { e2eQueued: Queued[] }).e2eQueued.length);
  await page.goto(`${demo.url}spa/`);
  await expect(page.locator('#nav-home')).toHaveAttribute('aria-current', 'page');
  await expect.poll(queuedCount).toBe(1);
  // One click per settled route, as a reader does: URL changes closer together than
  // ROUTE_SETTLE_MS (a redirect) are one navigation to homing/pageviews.
  for (const [count, link, path] of [
    [2, '#nav-pricing', '/spa/pricing'],
    [3, '#nav-about', '/spa/about'],
    [4, '#nav-home', '/spa/'],
  ] as const) {
    await page.click(link);
    await expect(page).toHaveURL(`${demo.url}${path.slice(1)}`);
    await expect.poll(queuedCount).toBe(count);
  }
  // Client-side routing: still the first document, so the tracker and its queue are the same.
  expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);

  const queued = await page.evaluate(() => (window as unknown as { e2eQueued: Queued[] }).e2eQueued);
  expect(queued.map(({ type, title, path }) => ({ type, title, path }))).toEqual([
    { type: 'page', title: 'Home · Lumen Notes app', path: '/spa/' },
    { type: 'page', title: 'Pricing · Lumen Notes app', path: '/spa/pricing' },
    { type: 'page', title: 'About · Lumen Notes app', path: '/spa/about' },
    { type: 'page', title: 'Home · Lumen Notes app', path: '/spa/' },
  ]);
  const tracked = queued.map((event) => event.messageId);

  // The SPA keeps the default 5 s flushInterval.
  const figures = await waitForDelivery(demo.collector, tracked, 10_000);
  expect(figures).toEqual({ unique: 4, duplicates: 0, missing: 0, unexpected: 0 });
  expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
  const events = receivedEvents(demo.collector);
  expect(events.map((event) => [event.type, event.properties?.source, event.properties?.path, event.context.page?.path])).toEqual([
    ['page', 'pageviews', '/spa/', '/spa/'],
    ['page', 'pageviews', '/spa/pricing', '/spa/pricing'],
    ['page', 'pageviews', '/spa/about', '/spa/about'],
    ['page', 'pageviews', '/spa/', '/spa/'],
  ]);
  record('SPA route changes', figures);
});
