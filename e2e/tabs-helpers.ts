/**
 * What the multi-tab scenarios add to `helpers.ts`: tabs of one origin on `e2e/fixtures/tabs.html`
 * (the tracker page plus a pagehide marker), killing a tab's renderer, and telling at the
 * collector how each batch travelled (fetch, sendBeacon or fetchLater) and which tab sent it.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { record, stats, trackerReady, type Demo, type Tally } from './helpers';

/** `/e2e/tabs.html` with tracker options in the query string. */
export function tabPage(demo: Pick<Demo, 'url'>, options: Record<string, string | number | boolean>): string {
  const query = new URLSearchParams(Object.entries(options).map(([key, value]) => [key, String(value)]));
  return `${demo.url}e2e/tabs.html?${query}`;
}

/** A storageKey no other test uses: its own IndexedDB database, lock and channel. */
export function isolatedStorageKey(label: string): string {
  return `homing-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens a tab on the origin and waits until its tracker has loaded the shared store. */
export async function openTab(context: BrowserContext, url: string, beforeLoad?: (page: Page) => void): Promise<Page> {
  const page = await context.newPage();
  beforeLoad?.(page);
  await page.goto(url);
  await trackerReady(page);
  return page;
}

/**
 * Kills the tab's renderer (CDP `Page.crash`): no pagehide, no script ever runs again, and the
 * browser frees its Web Locks. The tab stays open as a "sad tab" until it is closed. The CDP call
 * itself only settles once Playwright gives up on the page, so the `crash` event is awaited instead.
 */
export async function crash(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  const crashed = page.waitForEvent('crash');
  void cdp.send('Page.crash').catch(() => {});
  await crashed;
}

/** How a request reached the collector: homing's fetch sends JSON, sendBeacon and fetchLater text/plain. */
export type Via = 'fetch' | 'beacon' | 'fetchLater';

/** One `POST /v1/batch` as it reached the server. */
export interface WireRequest {
  via: Via;
  /** The HTTP status answered, or `aborted` while the answer never went out (the client went away). */
  outcome: number | 'aborted';
  at: number;
}

export interface Wire {
  requests: WireRequest[];
  /** Beacons from `tabs-marker.js`: one per page that ran its pagehide handlers, with its query string. */
  pagehideMarkers: string[];
}

/**
 * Watches the demo server: answers the fixture's `/pagehide-marker` beacons (204) and logs every
 * batch request with how it was sent. sendBeacon is a `no-cors` request; fetchLater, like fetch,
 * is `cors` (`Sec-Fetch-Mode`), and homing arms it with a text/plain body.
 */
export function watchWire(demo: Demo): Wire {
  const wire: Wire = { requests: [], pagehideMarkers: [] };
  const handle = demo.collector.handle.bind(demo.collector);
  demo.collector.handle = (req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'POST' && path === '/pagehide-marker') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        wire.pagehideMarkers.push(body);
        res.writeHead(204).end();
      });
      return true;
    }
    if (req.method === 'POST' && path === '/v1/batch') {
      const json = String(req.headers['content-type']).startsWith('application/json');
      const via: Via = json ? 'fetch' : req.headers['sec-fetch-mode'] === 'no-cors' ? 'beacon' : 'fetchLater';
      const request: WireRequest = { via, outcome: 'aborted', at: performance.now() };
      wire.requests.push(request);
      res.on('finish', () => (request.outcome = res.statusCode));
    }
    return handle(req, res);
  };
  return wire;
}

/** Requests per way of sending, e.g. `{ fetch: 8 }`. */
export function byVia(requests: readonly WireRequest[]): Partial<Record<Via, number>> {
  const counts: Partial<Record<Via, number>> = {};
  for (const { via } of requests) counts[via] = (counts[via] ?? 0) + 1;
  return counts;
}

/** The messageIds of every batch this page's scripts sent (fetch and sendBeacon), one array per request. */
export function recordSends(page: Page): string[][] {
  const sent: string[][] = [];
  page.on('request', (request) => {
    if (request.method() !== 'POST' || !request.url().endsWith('/v1/batch')) return;
    try {
      sent.push((JSON.parse(request.postData() ?? '{}').batch ?? []).map((event: { messageId: string }) => event.messageId));
    } catch {
      sent.push([]);
    }
  });
  return sent;
}

/** Requests each tab made, by its own count (`homing('stats').requests`). */
export function requestsPerTab(pages: readonly Page[]): Promise<number[]> {
  return Promise.all(pages.map((page) => page.evaluate(() => (window.homing('stats') as { requests: number }).requests)));
}

/** Events each tab holds (waiting or in flight), as far as it knows. */
export function heldPerTab(pages: readonly Page[]): Promise<number[]> {
  return Promise.all(pages.map((page) => stats(page).then((figures) => figures.queued + figures.inFlight)));
}

/** Prints and annotates a scenario's one-line summary, with the wire-duplicate rate over the events tracked. */
export function summarize(label: string, figures: Tally, tracked: number, extra: Record<string, unknown> = {}): void {
  const rate = `${((100 * figures.duplicates) / tracked).toFixed(2)}%`;
  record(label, { ...figures, rate, ...extra });
}
