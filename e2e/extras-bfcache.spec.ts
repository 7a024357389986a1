/**
 * Automatic page views (homing-pageviews.iife.js) in a single-page app, back/forward cache
 * included: runs in the `chromium-bfcache` project, since Playwright turns the cache off by default.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { pageViews } from './extras-helpers';
import { expect, FIXTURES_DIR, record, stats, test, type Demo } from './helpers';

/** The fixture app answers every path under this prefix: it routes on the client. */
const APP_PREFIX = 'extras-spa/';

/** A page view as the scenario checks it: its route's path and title, and where it came from. */
function views(demo: Demo) {
  return pageViews(demo.collector).map((event) => ({
    path: event.properties?.path,
    title: event.properties?.title,
    referrer: event.properties?.referrer,
    contextPath: event.context.page?.path,
    source: event.properties?.source,
  }));
}

function expected(route: string, title: string, referrer: string | undefined, demo: Demo) {
  const path = `/${APP_PREFIX}${route}`;
  return { path, title: `${title} · SPA`, referrer: referrer === undefined ? '' : `${demo.url}${APP_PREFIX}${referrer}`, contextPath: path, source: 'pageviews' };
}

async function pageshows(page: Page): Promise<boolean[]> {
  return page.evaluate(() => (window as unknown as { e2ePageshows: boolean[] }).e2ePageshows);
}

test('a single-page app sends one page view per navigation, back, forward and a bfcache restore included, each with its route', async ({ context, page, demo }) => {
  await context.route(`${demo.url}${APP_PREFIX}**`, async (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: await readFile(`${FIXTURES_DIR}extras-spa.html`, 'utf8') }),
  );
  await context.addInitScript(() => {
    const shows: boolean[] = [];
    Object.defineProperty(window, 'e2ePageshows', { value: shows });
    addEventListener('pageshow', (event) => shows.push(event.persisted));
  });
  const notCached: unknown[] = [];
  const cdp = await context.newCDPSession(page);
  cdp.on('Page.backForwardCacheNotUsed', (event) => notCached.push(event.notRestoredExplanations));
  await cdp.send('Page.enable');
  const settled = async (count: number) => expect.poll(() => pageViews(demo.collector).length, { timeout: 10_000 }).toBe(count);

  await page.goto(`${demo.url}${APP_PREFIX}`);
  await settled(1);
  for (const [count, link] of [[2, '#to-pricing'], [3, '#to-about'], [4, '#to-contact']] as const) {
    await page.click(link);
    await settled(count);
  }
  await page.goBack({ waitUntil: 'commit' });
  await settled(5);
  await page.goBack({ waitUntil: 'commit' });
  await settled(6);
  await page.goForward({ waitUntil: 'commit' });
  await settled(7);
  // Same URL: a router saving its scroll position in the history entry. Not a navigation.
  await page.evaluate(() => history.replaceState({ scrollY: 120 }, '', location.href));
  await page.waitForTimeout(1_000);
  expect(pageViews(demo.collector)).toHaveLength(7);

  // Leave for another document and come back: the page is restored from the cache.
  await page.goto(`${demo.url}e2e/blank.html`);
  await page.goBack({ waitUntil: 'commit' });
  await expect.poll(() => pageshows(page).then((shows) => shows.length)).toBe(2);
  expect(await pageshows(page)).toEqual([false, true]);
  expect(notCached).toEqual([]);
  await settled(8);
  await page.waitForTimeout(1_000);
  await expect.poll(() => stats(page).then((s) => s.queued + s.inFlight)).toBe(0);

  expect(views(demo)).toEqual([
    expected('', 'Home', undefined, demo),
    expected('pricing', 'Pricing', '', demo),
    expected('about', 'About', 'pricing', demo),
    expected('contact', 'Contact', 'about', demo),
    expected('about', 'About', 'contact', demo),
    expected('pricing', 'Pricing', 'about', demo),
    expected('about', 'About', 'pricing', demo),
    // Restored: the same view, reached from where it was reached before.
    expected('about', 'About', 'pricing', demo),
  ]);
  const { unique, duplicates } = demo.collector.received();
  expect({ unique, duplicates }).toEqual({ unique: 8, duplicates: 0 });
  record('SPA page views', { unique, duplicates, missing: 0, unexpected: 0, pageViews: 8, beforeRestore: 7, notRestoredReasons: notCached.length });
});
