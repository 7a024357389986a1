import type { CDPSession, Page } from '@playwright/test';
import { expect, receivedEvents, record, tally, test, waitForDelivery, type Demo } from './helpers';

interface Violation {
  directive: string;
  blockedURI: string;
  sourceFile: string;
  line: number;
}

/** Violations the page itself saw, recorded from before its first script. */
const violations = (page: Page) => page.evaluate(() => (window as unknown as { e2eViolations: Violation[] }).e2eViolations);

/** Starts recording the messageIds of what the page queues from now on. */
const watchQueued = (page: Page) =>
  page.evaluate(() => {
    const ids: string[] = [];
    (window as unknown as { e2eIds: string[] }).e2eIds = ids;
    window.homing('on', 'queued', (event: { messageId: string }) => ids.push(event.messageId));
  });
const queuedIds = (page: Page) => page.evaluate(() => (window as unknown as { e2eIds: string[] }).e2eIds);

/**
 * The reports Chromium queues for the page's `report-to` endpoint, seen as they are queued:
 * the Reporting API delivers them to the server only about a minute later.
 */
async function watchQueuedReports(page: Page): Promise<Array<{ type: string; body: Record<string, unknown> }>> {
  const reports: Array<{ type: string; body: Record<string, unknown> }> = [];
  const cdp: CDPSession = await page.context().newCDPSession(page);
  cdp.on('Network.reportingApiReportAdded', ({ report }) => reports.push({ type: report.type, body: report.body }));
  await cdp.send('Network.enable');
  await cdp.send('Network.enableReportingApi', { enable: true });
  return reports;
}

test.describe('under the demo server\'s strict Content-Security-Policy', () => {
  test.beforeEach(async ({ context }) => {
    await context.addInitScript(() => {
      const seen: Array<{ directive: string; blockedURI: string; sourceFile: string; line: number }> = [];
      Object.defineProperty(window, 'e2eViolations', { value: seen });
      document.addEventListener('securitypolicyviolation', (event) =>
        seen.push({ directive: event.effectiveDirective, blockedURI: event.blockedURI, sourceFile: event.sourceFile, line: event.lineNumber }),
      );
    });
  });

  test('the snippet page runs homing with no violation and its events arrive', async ({ page, demo }) => {
    const reports = await watchQueuedReports(page);
    const response = await page.goto(demo.url);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect.poll(() => page.evaluate(() => typeof window.homing === 'function' && 'tracker' in window.homing)).toBe(true);

    await watchQueued(page);
    for (const button of ['#cta-demo', '#feature-search', '#feature-sync', '#plan-pro']) await page.click(button);
    // Each click's event is queued in a task of its own, after the click.
    await expect.poll(() => queuedIds(page).then((ids) => ids.length)).toBe(4);
    const tracked = await queuedIds(page);
    await page.evaluate(() => window.homing('flush'));

    await waitForDelivery(demo.collector, tracked, 10_000);
    // The page's own page('Home'), tracked by app.js before the clicks, went first.
    const events = receivedEvents(demo.collector);
    expect(events.map((event) => event.event ?? `page:${event.name}`)).toEqual([
      'page:Home',
      'Tour Requested',
      'Feature Viewed',
      'Feature Viewed',
      'Plan Selected',
    ]);
    const figures = tally(demo.collector, [events[0]!.messageId, ...tracked]);
    expect(figures).toEqual({ unique: 5, duplicates: 0, missing: 0, unexpected: 0 });
    await expectNoViolation(page, demo, reports);
    record('CSP, snippet page', { ...figures, violations: 0, cspReports: demo.cspReports.length });
  });

  test('the ESM SPA runs homing with no violation and its events arrive', async ({ page, demo }) => {
    const reports = await watchQueuedReports(page);
    await page.goto(`${demo.url}spa/`);
    await expect.poll(() => page.evaluate(() => typeof (window as unknown as { tracker?: unknown }).tracker)).toBe('object');
    // homing/pageviews records the route's page view once it has settled: let it go first.
    await expect.poll(() => page.evaluate(() => (window as unknown as { tracker: { stats(): { received: number } } }).tracker.stats().received)).toBe(1);
    const tracked = await page.evaluate(() => {
      const tracker = (window as unknown as { tracker: { on: Function; track: Function; flush: Function } }).tracker;
      const ids: string[] = [];
      const off = tracker.on('queued', (event: { messageId: string }) => ids.push(event.messageId));
      tracker.track('Under CSP', { seq: 1 });
      tracker.track('Under CSP', { seq: 2 });
      (tracker as unknown as { stats: Function }).stats();
      off();
      void tracker.flush();
      return ids;
    });

    await waitForDelivery(demo.collector, tracked, 10_000);
    // The route's automatic page view, then the two tracked here.
    const events = receivedEvents(demo.collector);
    expect(events.map((event) => event.event ?? `page:${event.properties?.title}`)).toEqual(['page:Home · Lumen Notes app', 'Under CSP', 'Under CSP']);
    const figures = tally(demo.collector, [events[0]!.messageId, ...tracked]);
    expect(figures).toEqual({ unique: 3, duplicates: 0, missing: 0, unexpected: 0 });
    await expectNoViolation(page, demo, reports);
    record('CSP, ESM SPA', { ...figures, violations: 0, cspReports: demo.cspReports.length });
  });
});

/**
 * No violation seen by the page, none queued for the report-to endpoint, none received by the
 * server; then proof that each watch works: an inline script, which the policy forbids, is seen
 * by the listener and queued as a report.
 */
async function expectNoViolation(page: Page, demo: Demo, reports: Array<{ type: string }>): Promise<void> {
  expect(await violations(page)).toEqual([]);
  expect(reports).toEqual([]);
  expect(demo.cspReports).toEqual([]);

  await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.e2eInlineRan = true';
    document.body.append(script);
  });
  await expect.poll(() => violations(page).then((seen) => seen.map((v) => v.directive))).toEqual(['script-src-elem']);
  await expect.poll(() => reports.map((report) => report.type)).toEqual(['csp-violation']);
}
