/**
 * The opt-in extras in Chromium, each loaded as a script-tag file next to homing.iife.js (and
 * the combined build once): outbound links and downloads, declarative events, web vitals. The
 * single-page app's page views need the back/forward cache: they are in extras-bfcache.spec.ts.
 */
import { performance } from 'node:perf_hooks';
import type { Page } from '@playwright/test';
import { eventsNamed, OUTBOUND_URL, pageViews, serveDownloads, serveOutboundSite } from './extras-helpers';
import { eventually, expect, receivedEvents, record, stats, test, trackerPage, trackerReady, transports, type Demo } from './helpers';

/** So long that no ordinary flush runs while the page lives: only the page-exit path can carry an event. */
const NO_ORDINARY_FLUSH = { flushInterval: 60_000 };
/** A page that stays: its events go in the next ordinary batch. */
const QUICK_FLUSH = { flushInterval: 300 };
const OUTBOUND_RUNS = 5;
/** A trusted hand-off is never sent again: the next visit resends nothing. */
const ALLOWED_DUPLICATES = 0;

function fixture(demo: Demo, name: string, options: Record<string, number>): string {
  return `${demo.url}e2e/${name}?${new URLSearchParams(Object.entries(options).map(([key, value]) => [key, String(value)]))}`;
}

test.describe('outbound links and downloads', () => {
  test(`an outbound link clicked, with the page gone at once: the click arrives, ${OUTBOUND_RUNS} of ${OUTBOUND_RUNS} runs, and the next visit resends at most ${ALLOWED_DUPLICATES}`, async ({ context, page, demo }) => {
    await serveOutboundSite(context);
    const arrivalMs: number[] = [];
    for (let run = 1; run <= OUTBOUND_RUNS; run += 1) {
      await page.goto(fixture(demo, 'extras-links.html', NO_ORDINARY_FLUSH));
      await trackerReady(page);
      const clickedAt = performance.now();
      // The link navigates at once: no preventDefault, no waiting for the tracker.
      await page.click('#outbound');
      await page.waitForURL(OUTBOUND_URL);
      const arrived = await eventually(() => eventsNamed(demo.collector, 'Outbound Link Clicked').length === run, 5_000);
      expect(arrived, `run ${run}: the click event reached the collector`).toBe(true);
      arrivalMs.push(Math.round(performance.now() - clickedAt));
    }
    // The next visit sends whatever a closing page left in storage: nothing may come twice.
    await page.goto(trackerPage(demo, QUICK_FLUSH));
    await trackerReady(page);
    await expect.poll(() => stats(page).then((s) => s.queued + s.inFlight)).toBe(0);
    await page.waitForTimeout(1_000);

    const clicks = eventsNamed(demo.collector, 'Outbound Link Clicked');
    expect(clicks.map((event) => event.properties)).toEqual(Array(OUTBOUND_RUNS).fill({ href: OUTBOUND_URL, source: 'links' }));
    const { unique, duplicates } = demo.collector.received();
    expect(unique).toBe(OUTBOUND_RUNS);
    expect(duplicates).toBeLessThanOrEqual(ALLOWED_DUPLICATES);
    record('outbound link, page gone at once', {
      unique,
      duplicates,
      missing: OUTBOUND_RUNS - clicks.length,
      unexpected: 0,
      arrivedRuns: `${clicks.length}/${OUTBOUND_RUNS}`,
      clickToArrivalMs: `${Math.min(...arrivalMs)}-${Math.max(...arrivalMs)}`,
      requests: transports(demo),
    });
  });

  test('middle clicks and modifier clicks on an outbound link are tracked, and the page stays', async ({ context, page, demo }) => {
    await serveOutboundSite(context);
    await page.goto(fixture(demo, 'extras-links.html', QUICK_FLUSH));
    await trackerReady(page);
    for (const click of [{ button: 'middle' as const }, { modifiers: ['Control' as const] }, { modifiers: ['Shift' as const] }]) {
      const opened = context.waitForEvent('page');
      await page.click('#outbound', click);
      await (await opened).close();
    }
    expect(page.url()).toContain('/e2e/extras-links.html');
    await expect.poll(() => eventsNamed(demo.collector, 'Outbound Link Clicked').length).toBe(3);
    await page.waitForTimeout(500);
    expect(demo.collector.received()).toMatchObject({ unique: 3, duplicates: 0 });
  });

  test('a download link is tracked, and the download is not blocked', async ({ context, page, demo }) => {
    await serveDownloads(context, demo.url);
    await page.goto(fixture(demo, 'extras-links.html', QUICK_FLUSH));
    await trackerReady(page);
    const downloading = page.waitForEvent('download');
    await page.click('#download');
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('price-list.pdf');
    expect(await download.failure()).toBeNull();
    await expect.poll(() => eventsNamed(demo.collector, 'File Downloaded').length).toBe(1);
    expect(eventsNamed(demo.collector, 'File Downloaded')[0]?.properties).toEqual({
      href: `${demo.url}extras-files/price-list.pdf`,
      extension: 'pdf',
      source: 'links',
    });
    // A click within the site is neither.
    await page.click('#internal');
    await page.waitForURL(/blank\.html$/);
    await page.waitForTimeout(500);
    expect(receivedEvents(demo.collector).map((event) => event.event)).toEqual(['File Downloaded']);
  });
});

test('declarative events: a button, a form and an element added after load are tracked with their properties', async ({ page, demo }) => {
  await page.goto(fixture(demo, 'extras-declarative.html', QUICK_FLUSH));
  await trackerReady(page);
  await page.click('#signup span');
  await page.click('#join');
  await page.click('#add-later');
  await page.click('#offer');
  await expect.poll(() => receivedEvents(demo.collector).length).toBe(3);
  await page.waitForTimeout(500);
  expect(receivedEvents(demo.collector).map((event) => [event.event, event.properties])).toEqual([
    ['Signed Up', { source: 'declarative', plan: 'pro', billingPeriod: 'yearly' }],
    ['Newsletter Joined', { source: 'declarative', list: 'weekly' }],
    ['Offer Claimed', { source: 'declarative', discount: '20' }],
  ]);
  expect(demo.collector.received()).toMatchObject({ unique: 3, duplicates: 0 });
});

test.describe('web vitals', () => {
  const METRICS = ['CLS', 'FCP', 'INP', 'LCP', 'TTFB'];
  /** The click handler of the fixture keeps the main thread busy this long. */
  const BUSY_MS = 80;
  /**
   * web-vitals reads an interaction's timing in an idle callback (at most 1 s later): a page that
   * goes sooner may not count that click in INP.
   */
  const INTERACTION_SETTLE_MS = 1_500;

  function vitalsByName(demo: Demo): Record<string, Record<string, unknown>[]> {
    const byName: Record<string, Record<string, unknown>[]> = {};
    for (const event of eventsNamed(demo.collector, 'Web Vital')) {
      const name = String(event.properties?.name);
      (byName[name] ??= []).push(event.properties ?? {});
    }
    return byName;
  }

  /** Loads the fixture, lets its layout shift happen, and clicks the busy button once. */
  async function interactedVitalsPage(page: Page, demo: Demo): Promise<void> {
    await page.goto(fixture(demo, 'extras-vitals.html', QUICK_FLUSH));
    await trackerReady(page);
    // The fixture's late banner shifts the layout 100 ms after load.
    await page.waitForTimeout(500);
    await page.click('#work');
    await expect(page.locator('#work')).toHaveText('Done');
    await page.waitForTimeout(INTERACTION_SETTLE_MS);
  }

  /**
   * Headless Chromium keeps a background tab visible, so the page says it is hidden itself, as a
   * tab switch would: web-vitals listens to exactly this (its own tests do the same).
   */
  function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
    return page.evaluate((state) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    }, state);
  }

  test('the page hidden after an interaction: one event per metric, once, with its value', async ({ page, demo }) => {
    await interactedVitalsPage(page, demo);
    await setVisibility(page, 'hidden');
    await expect.poll(() => Object.keys(vitalsByName(demo)).sort(), { timeout: 10_000 }).toEqual(METRICS);
    // Leaving and the next visit bring nothing more.
    await page.goto(trackerPage(demo, QUICK_FLUSH));
    await trackerReady(page);
    await expect.poll(() => stats(page).then((s) => s.queued + s.inFlight)).toBe(0);
    await page.waitForTimeout(1_000);

    const byName = vitalsByName(demo);
    for (const name of METRICS) expect(byName[name], `${name} reported once`).toHaveLength(1);
    const value = (name: string) => Number(byName[name]![0]!.value);
    expect(value('TTFB')).toBeGreaterThanOrEqual(0);
    expect(value('FCP')).toBeGreaterThan(0);
    expect(value('LCP')).toBeGreaterThanOrEqual(value('FCP'));
    expect(value('INP')).toBeGreaterThanOrEqual(BUSY_MS);
    expect(value('CLS')).toBeGreaterThan(0);
    for (const name of METRICS) {
      expect(byName[name]![0]).toMatchObject({ name, rating: expect.stringMatching(/^(good|needs-improvement|poor)$/), id: expect.any(String), source: 'vitals' });
    }
    expect(demo.collector.received().duplicates).toBe(0);
    const figures = Object.fromEntries(METRICS.map((name) => [name, `${value(name).toFixed(name === 'CLS' ? 3 : 0)}/${byName[name]![0]!.rating}`]));
    record('web vitals at hide', { unique: demo.collector.received().unique, duplicates: 0, missing: 0, unexpected: 0, ...figures });
  });

  test('a page hidden twice reports each metric once, even when INP and CLS grew in between', async ({ page, demo }) => {
    await interactedVitalsPage(page, demo);
    await setVisibility(page, 'hidden');
    await expect.poll(() => Object.keys(vitalsByName(demo)).sort(), { timeout: 10_000 }).toEqual(METRICS);
    const firstINP = Number(vitalsByName(demo).INP![0]!.value);

    await setVisibility(page, 'visible');
    // A slower interaction and another shift: web-vitals reports INP and CLS again.
    await page.evaluate(() =>
      document.getElementById('work')!.addEventListener('click', () => {
        const until = performance.now() + 250;
        while (performance.now() < until);
      }),
    );
    await page.click('#work');
    await page.evaluate(() => document.body.prepend(Object.assign(document.createElement('div'), { style: 'height: 200px' })));
    await page.waitForTimeout(INTERACTION_SETTLE_MS);
    await setVisibility(page, 'hidden');
    await page.goto(`${demo.url}e2e/blank.html`);
    await page.waitForTimeout(1_500);

    const byName = vitalsByName(demo);
    for (const name of METRICS) expect(byName[name], `${name} reported once`).toHaveLength(1);
    expect(Number(byName.INP![0]!.value)).toBe(firstINP);
  });

  test('a page left by a navigation gives every metric to the tracker at pagehide, before the tracker hands its events off', async ({ page, demo }) => {
    // What the page had queued when pagehide reached the listeners after the extra's, reported
    // by a beacon of its own: the page is gone right after.
    const atPagehide: string[][] = [];
    const handle = demo.collector.handle.bind(demo.collector);
    demo.collector.handle = (req, res) => {
      if (req.method !== 'POST' || req.url !== '/e2e-probe') return handle(req, res);
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        atPagehide.push(JSON.parse(body));
        res.writeHead(204).end();
      });
      return true;
    };
    await interactedVitalsPage(page, demo);
    await page.evaluate(() => {
      const queued: string[] = [];
      window.homing('on', 'queued', (event: { event?: string; properties?: { name?: string } }) => {
        if (event.event === 'Web Vital') queued.push(String(event.properties?.name));
      });
      // Capture phase, added after the extra's: it runs after the extra and before the tracker.
      addEventListener('pagehide', () => navigator.sendBeacon('/e2e-probe', JSON.stringify(queued)), true);
    });
    await page.goto(trackerPage(demo, QUICK_FLUSH));
    await expect.poll(() => atPagehide.length).toBe(1);
    expect([...atPagehide[0]!].sort()).toEqual(METRICS);

    // Whether they then arrive is the tracker's page-exit path; recorded, not asserted here.
    await trackerReady(page);
    await eventually(() => Object.keys(vitalsByName(demo)).length === METRICS.length, 5_000);
    record('web vitals at a navigation', {
      unique: demo.collector.received().unique,
      duplicates: demo.collector.received().duplicates,
      missing: METRICS.length - Object.keys(vitalsByName(demo)).length,
      unexpected: 0,
      queuedAtPagehide: atPagehide[0]!.length,
    });
  });
});

test('the combined build turns on the extras its script tag names, and only those', async ({ context, page, demo }) => {
  await serveOutboundSite(context);
  await page.goto(`${demo.url}e2e/extras-all.html`);
  await expect.poll(() => pageViews(demo.collector).length).toBe(1);
  await page.click('#signup');
  const opened = context.waitForEvent('page');
  await page.click('#outbound', { modifiers: ['Control'] });
  await (await opened).close();
  await expect.poll(() => receivedEvents(demo.collector).length).toBe(3);
  // data-vitals is absent: leaving the page reports no web vitals.
  await page.goto(`${demo.url}e2e/blank.html`);
  await page.waitForTimeout(1_000);
  expect(receivedEvents(demo.collector).map((event) => [event.type, event.event ?? event.properties?.path, event.properties?.source])).toEqual([
    ['page', '/e2e/extras-all.html', 'pageviews'],
    ['track', 'Signed Up', 'declarative'],
    ['track', 'Outbound Link Clicked', 'links'],
  ]);
});

test('the demo product page tracks its outbound link, download and declarative buttons, and the inspector shows each source', async ({ context, page, demo }) => {
  await context.route('https://example.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Launch story</title>' }));
  await page.goto(demo.url);
  await expect.poll(() => page.evaluate(() => typeof window.homing === 'function' && 'tracker' in window.homing)).toBe(true);
  await page.click('#plan-pro');
  const opened = context.waitForEvent('page');
  await page.click('#link-outbound');
  await (await opened).close();
  const downloading = page.waitForEvent('download');
  await page.click('#download-pricing');
  expect((await downloading).suggestedFilename()).toBe('lumen-notes-pricing.csv');
  await page.evaluate(() => window.homing('flush'));

  const bySource = () => receivedEvents(demo.collector).map((event) => [event.event ?? `page:${event.name}`, event.properties?.source ?? 'app']);
  await expect.poll(bySource).toEqual([
    ['page:Home', 'app'],
    ['Plan Selected', 'declarative'],
    ['Outbound Link Clicked', 'links'],
    ['File Downloaded', 'links'],
  ]);
  expect(eventsNamed(demo.collector, 'Plan Selected')[0]?.properties).toEqual({ source: 'declarative', plan: 'pro', price: '8' });
  // The inspector's collector log, newest first, tags each event with its source.
  await expect(page.locator('#collector-events .tag--source')).toHaveText(['links', 'links', 'declarative', 'app']);
});
