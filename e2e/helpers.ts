/**
 * What every browser scenario shares: a demo server of its own on a free loopback port (the
 * `demo` fixture), the test-only pages of `e2e/fixtures/` served on that server's origin, and
 * the collector arithmetic the scenarios assert: unique, duplicate and missing events.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { startDemoServer } from '../demo/server.mjs';

type DemoServer = Awaited<ReturnType<typeof startDemoServer>>;
export type Collector = DemoServer['collector'];

/** One `POST /v1/batch` as the collector saw it: when it arrived, how it was sent, how it ended. */
export interface BatchRequest {
  /** `performance.now()` in the test process when the request reached the server. */
  at: number;
  /** `application/json` from fetch, `text/plain;charset=UTF-8` from sendBeacon. */
  contentType: string;
  /** The HTTP status answered, or `refused` when the collector dropped the connection. */
  outcome: number | 'refused';
}

export interface Demo extends DemoServer {
  /** Every `POST /v1/batch` so far, in arrival order. */
  batchRequests: BatchRequest[];
}

/** The collector's view of one scenario: what it holds against what the page tracked. */
export interface Tally {
  /** Distinct messageIds accepted. */
  unique: number;
  /** Events received again after their messageId was already accepted (at-least-once on the wire). */
  duplicates: number;
  /** Expected messageIds the collector never accepted. */
  missing: number;
  /** Accepted events that were not expected (they would mean a test counts someone else's events). */
  unexpected: number;
}

export const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const DIST_DIR = fileURLToPath(new URL('../dist/', import.meta.url));

/** Fixture pages live at `/e2e/<file>` on the demo server's origin, served by a route, not the server. */
export const FIXTURE_PATH = '/e2e/';

export const test = base.extend<{ demo: Demo }>({
  demo: async ({ context }, use) => {
    const server = await startDemoServer({ port: 0, host: '127.0.0.1' });
    const demo: Demo = Object.assign(server, { batchRequests: recordBatchRequests(server.collector) });
    await serveFixtures(context, demo);
    await use(demo);
    await server.close();
  },
});
export { expect };

/**
 * Logs each `POST /v1/batch` as it reaches the collector. The demo server looks `handle` up on
 * the collector for every request, so wrapping it sees everything the collector sees.
 */
function recordBatchRequests(collector: Collector): BatchRequest[] {
  const log: BatchRequest[] = [];
  const handle = collector.handle.bind(collector);
  collector.handle = (req, res) => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/v1/batch') {
      const entry: BatchRequest = { at: performance.now(), contentType: String(req.headers['content-type']), outcome: 'refused' };
      log.push(entry);
      res.on('finish', () => (entry.outcome = res.statusCode));
    }
    return handle(req, res);
  };
  return log;
}

/**
 * Serves `e2e/fixtures/*` at `/e2e/*` through a route, so fixture pages share the collector's
 * origin (relative endpoints, same storage) and may use inline scripts (no CSP header). A route
 * answers even while the context is offline, which is what reloading an offline page needs.
 * `snippet.html` gets the shipped snippet (`dist/snippet.min.js`) pasted in.
 */
export async function serveFixtures(context: BrowserContext, demo: Pick<Demo, 'url'>): Promise<void> {
  await context.route(`${demo.url}e2e/**`, async (route) => {
    const { pathname } = new URL(route.request().url());
    const name = pathname.slice(FIXTURE_PATH.length);
    if (!/^[\w-]+\.(html|js)$/.test(name)) return route.fulfill({ status: 404, body: 'no such fixture' });
    let body = await readFile(`${FIXTURES_DIR}${name}`, 'utf8').catch(() => undefined);
    if (body === undefined) return route.fulfill({ status: 404, body: 'no such fixture' });
    if (name === 'snippet.html') body = body.replace('/* SNIPPET */', await shippedSnippet());
    const contentType = name.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8';
    await route.fulfill({ status: 200, contentType, body });
  });
}

/** The copy-paste snippet as built, with the options a site would paste: a 500 ms flush interval. */
async function shippedSnippet(): Promise<string> {
  const snippet = await readFile(`${DIST_DIR}snippet.min.js`, 'utf8');
  const options = 'endpoint:"/v1/batch"';
  if (!snippet.includes(options)) throw new Error(`dist/snippet.min.js no longer contains ${options}: update the fixture`);
  return snippet.replace(options, `${options},flushInterval:500`);
}

/** Serves `/dist/homing.iife.js` from disk through a route: the page can then load while offline. */
export async function serveBundleFromDisk(context: BrowserContext, demo: Pick<Demo, 'url'>): Promise<void> {
  await context.route(`${demo.url}dist/homing.iife.js`, async (route) =>
    route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8', body: await readFile(`${DIST_DIR}homing.iife.js`, 'utf8') }),
  );
}

/** `/e2e/tracker.html` with tracker options in the query string, e.g. `{ flushInterval: 500 }`. */
export function trackerPage(demo: Pick<Demo, 'url'>, options: Record<string, string | number | boolean> = {}): string {
  const query = new URLSearchParams(Object.entries(options).map(([key, value]) => [key, String(value)]));
  return `${demo.url}e2e/tracker.html${query.size ? `?${query}` : ''}`;
}

/** Tracks `count` events in the page through the `homing` global; returns their messageIds in order. */
export function burst(page: Page, count: number, name = 'Burst Event'): Promise<string[]> {
  return page.evaluate(([count, name]) => window.e2eBurst(count, name), [count, name] as const);
}

/**
 * Waits until the page's tracker has opened and loaded its store: flush() waits for that load,
 * and with nothing queued it sends nothing. Scenarios that leave the page right after a burst
 * start from here, so they test the page going away, not a page still starting up.
 */
export async function trackerReady(page: Page): Promise<void> {
  await page.evaluate(() => window.homing('flush'));
}

/** The parts of `TrackerStats` the scenarios read. */
export interface PageStats {
  queued: number;
  inFlight: number;
  delivered: number;
  retried: number;
  store: string;
  health: string;
}

/** `homing('stats')` in the page. */
export function stats(page: Page): Promise<PageStats> {
  return page.evaluate(() => window.homing('stats') as PageStats);
}

/** An event as the collector accepted it (the fields the scenarios look at). */
export interface WireEvent {
  messageId: string;
  type: 'track' | 'page' | 'identify';
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  context: { page?: { path: string; url: string } };
}

/** Every event the collector accepted, in arrival order. */
export function receivedEvents(collector: Collector): WireEvent[] {
  return collector.received().events as WireEvent[];
}

export function tally(collector: Collector, expected: readonly string[]): Tally {
  const { unique, duplicates } = collector.received();
  const received = new Set(receivedEvents(collector).map((event) => event.messageId));
  const wanted = new Set(expected);
  return {
    unique,
    duplicates,
    missing: expected.filter((id) => !received.has(id)).length,
    unexpected: [...received].filter((id) => !wanted.has(id)).length,
  };
}

/** Waits until every expected messageId reached the collector; returns the tally then. */
export async function waitForDelivery(collector: Collector, expected: readonly string[], timeout = 15_000): Promise<Tally> {
  await expect
    .poll(() => tally(collector, expected).missing, { timeout, intervals: [100, 200], message: `events still missing at the collector` })
    .toBe(0);
  return tally(collector, expected);
}

/** Polls `condition` for up to `timeout` ms without failing; true if it came true. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeout: number): Promise<boolean> {
  const deadline = performance.now() + timeout;
  for (;;) {
    if (await condition()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The accepted events' messageIds in arrival order, restricted to `ids`. */
export function arrivalOrder(collector: Collector, ids: readonly string[]): string[] {
  const wanted = new Set(ids);
  return receivedEvents(collector)
    .map((event) => event.messageId)
    .filter((id) => wanted.has(id));
}

/** Prints the figures a scenario observed, so a run's log doubles as its report. */
export function record<Figures extends Tally>(label: string, figures: Figures): void {
  const line = Object.entries(figures)
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' ');
  test.info().annotations.push({ type: 'counts', description: `${label}: ${line}` });
  console.log(`[counts] ${label}: ${line}`);
}

declare global {
  interface Window {
    homing: (...call: unknown[]) => unknown;
    e2eBurst(count: number, name: string): string[];
  }
}

/** How the batches travelled: `beacon` (text/plain) or `fetch` (application/json). */
export function transports(demo: Demo): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of demo.batchRequests) {
    const via = request.contentType.startsWith('text/plain') ? 'beacon' : 'fetch';
    counts[via] = (counts[via] ?? 0) + 1;
  }
  return counts;
}
