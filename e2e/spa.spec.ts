import { arrivalOrder, expect, receivedEvents, record, test, waitForDelivery } from './helpers';

interface Queued {
  messageId: string;
  type: string;
  name?: string;
  path: string;
}

test('the ESM SPA sends one page event per route change, named after the route', async ({ context, page, demo }) => {
  // spa.js assigns window.tracker before its first render(): catch it there to see every event queued.
  await context.addInitScript(() => {
    const queued: Array<{ messageId: string; type: string; name?: string; path: string }> = [];
    let tracker: unknown;
    Object.defineProperty(window, 'e2eQueued', { value: queued });
    Object.defineProperty(window, 'tracker', {
      configurable: true,
      get: () => tracker,
      set(value: { on(name: string, listener: (event: { messageId: string; type: string; name?: string }) => void): void }) {
        tracker = value;
        value.on('queued', (event) => queued.push({ messageId: event.messageId, type: event.type, name: event.name, path: location.pathname }));
      },
    });
  });

  await page.goto(`${demo.url}spa/`);
  await expect(page.locator('#nav-home')).toHaveAttribute('aria-current', 'page');
  for (const [link, path] of [
    ['#nav-pricing', '/spa/pricing'],
    ['#nav-about', '/spa/about'],
    ['#nav-home', '/spa/'],
  ] as const) {
    await page.click(link);
    await expect(page).toHaveURL(`${demo.url}${path.slice(1)}`);
  }
  // Client-side routing: still the first document, so the tracker and its queue are the same.
  expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);

  const queued = await page.evaluate(() => (window as unknown as { e2eQueued: Queued[] }).e2eQueued);
  expect(queued.map(({ type, name, path }) => ({ type, name, path }))).toEqual([
    { type: 'page', name: 'Home', path: '/spa/' },
    { type: 'page', name: 'Pricing', path: '/spa/pricing' },
    { type: 'page', name: 'About', path: '/spa/about' },
    { type: 'page', name: 'Home', path: '/spa/' },
  ]);
  const tracked = queued.map((event) => event.messageId);

  // The SPA keeps the default 5 s flushInterval.
  const figures = await waitForDelivery(demo.collector, tracked, 10_000);
  expect(figures).toEqual({ unique: 4, duplicates: 0, missing: 0, unexpected: 0 });
  expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
  const events = receivedEvents(demo.collector);
  expect(events.map((event) => [event.type, event.name, event.properties?.path, event.context.page?.path])).toEqual([
    ['page', 'Home', '/spa/', '/spa/'],
    ['page', 'Pricing', '/spa/pricing', '/spa/pricing'],
    ['page', 'About', '/spa/about', '/spa/about'],
    ['page', 'Home', '/spa/', '/spa/'],
  ]);
  record('SPA route changes', figures);
});
