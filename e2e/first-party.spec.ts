import type { Page } from '@playwright/test';
import { expect, receivedEvents, record, test, waitForDelivery } from './helpers';

/** The paths a first-party setup serves: the bundle and the collector under the site's own names. */
const BUNDLE_PATH = '/js/h.js';
const COLLECTOR_PATH = '/t';

/** Every request path the page made, in order. */
function requestPaths(page: Page): string[] {
  const paths: string[] = [];
  page.on('request', (request) => paths.push(new URL(request.url()).pathname));
  return paths;
}

/** Waits for the bundle to configure itself from its script tag, then tracks `count` events; returns their messageIds. */
async function trackOnceLoaded(page: Page, count: number): Promise<string[]> {
  await expect.poll(() => page.evaluate(() => typeof window.homing === 'function' && 'tracker' in window.homing)).toBe(true);
  return page.evaluate((count) => {
    const ids: string[] = [];
    const off = window.homing('on', 'queued', (event: { messageId: string }) => ids.push(event.messageId)) as () => void;
    for (let seq = 0; seq < count; seq++) window.homing('track', 'First Party Event', { seq });
    // A burst is enriched in a task of its own; stats() has it done now.
    window.homing('stats');
    off();
    return ids;
  }, count);
}

test.describe('serving homing from the site\'s own origin', () => {
  test('delivers every event through /js/h.js and /t, never naming /dist/ or /v1/batch', async ({ page, demo }) => {
    const paths = requestPaths(page);
    await page.goto(`${demo.url}e2e/first-party.html`);
    const tracked = await trackOnceLoaded(page, 5);
    expect(tracked).toHaveLength(5);

    const figures = await waitForDelivery(demo.collector, tracked, 5_000);
    expect(figures).toEqual({ unique: 5, duplicates: 0, missing: 0, unexpected: 0 });
    expect(paths).toContain(BUNDLE_PATH);
    expect(paths).toContain(COLLECTOR_PATH);
    expect(paths.filter((path) => path.startsWith('/dist/') || path === '/v1/batch')).toEqual([]);
    record('first-party /js/h.js + /t', figures);
  });

  test('sends nothing through /t when the browser signals Global Privacy Control', async ({ page, demo }) => {
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
    const paths = requestPaths(page);
    await page.goto(`${demo.url}e2e/first-party.html`);
    await expect.poll(() => page.evaluate(() => typeof window.homing === 'function' && 'tracker' in window.homing)).toBe(true);
    await page.evaluate(async () => {
      for (let seq = 0; seq < 5; seq++) window.homing('track', 'First Party Event', { seq });
      await window.homing('flush');
    });
    // Several flush intervals (500 ms) later, still nothing.
    await page.waitForTimeout(1_500);

    expect(paths).toContain(BUNDLE_PATH);
    expect(paths).not.toContain(COLLECTOR_PATH);
    expect(receivedEvents(demo.collector)).toEqual([]);
  });

  test('sends nothing through /t after optOut()', async ({ page, demo }) => {
    const paths = requestPaths(page);
    await page.goto(`${demo.url}e2e/first-party.html`);
    await expect.poll(() => page.evaluate(() => typeof window.homing === 'function' && 'tracker' in window.homing)).toBe(true);
    await page.evaluate(async () => {
      window.homing('optOut');
      for (let seq = 0; seq < 5; seq++) window.homing('track', 'First Party Event', { seq });
      await window.homing('flush');
    });
    await page.waitForTimeout(1_500);

    expect(paths).not.toContain(COLLECTOR_PATH);
    expect(receivedEvents(demo.collector)).toEqual([]);
  });
});
