/**
 * What the leaving-the-page scenarios add to `helpers.ts`: leaving in the same task as the last
 * `track()` (so no ordinary flush can beat the unload on loopback), the page's own log of what it
 * handed to the browser, its stats as they stood at `pagehide`, a network that loses requests
 * while still saying online, a host endpoint that holds keepalive requests, and the next visit.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { expect, stats, trackerPage, trackerReady, type Demo } from './helpers';
import { eventKey, keysInBody, keysOf, type TrackedShape } from './keyed-events';

/** The page every scenario leaves for: it has no tracker, so it sends nothing of its own. */
export const BLANK_PATH = '/e2e/blank.html';

/** Where the host page sends its own keepalive requests; the server holds them unanswered. */
export const HOST_KEEPALIVE_PATH = '/host-keepalive';

/** A next visit's tracker flushes within half a second: the scenarios take seconds, not minutes. */
const NEXT_VISIT_FLUSH_INTERVAL = 500;
/** After the next visit holds nothing, this long for anything still on its way (a late adoption, a resend). */
const NEXT_VISIT_SETTLE_MS = 1_500;

/** How one `POST /v1/batch` travelled: homing's fetch sends JSON, sendBeacon and fetchLater text/plain. */
export type Via = 'fetch' | 'beacon' | 'fetchLater';

/** One `POST /v1/batch` as it reached the server. */
export interface BatchArrival {
  via: Via;
  /** `Content-Length` of the body. */
  bytes: number;
  /** `performance.now()` in the test process at arrival. */
  at: number;
  /** Held unanswered and never shown to the collector: a request the network lost. */
  lost: boolean;
  /** Keys of the events in a lost request (the body of the others is the collector's to read). */
  lostKeys: string[];
}

export interface ExitWire {
  batches: BatchArrival[];
  /** Body bytes of each host keepalive request that reached the server. */
  hostKeepalives: number[];
  /**
   * While true, every batch request is read, never answered and never reaches the collector:
   * a network that still says online but loses what it carries. The page sees neither an answer
   * nor an error; the request stays pending until the test ends.
   */
  losing: boolean;
}

/** Watches the server: logs every batch request, holds host keepalive requests, and loses batches on demand. */
export function watchExitWire(demo: Demo): ExitWire {
  const wire: ExitWire = { batches: [], hostKeepalives: [], losing: false };
  const handle = demo.collector.handle.bind(demo.collector);
  demo.collector.handle = (req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'POST' && path === HOST_KEEPALIVE_PATH) {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      // Held open: the host's requests stay in flight, and in the browser's keepalive budget, for the whole test.
      req.on('end', () => wire.hostKeepalives.push(bytes));
      return true;
    }
    if (req.method === 'POST' && path === '/v1/batch') {
      const json = String(req.headers['content-type']).startsWith('application/json');
      const via: Via = json ? 'fetch' : req.headers['sec-fetch-mode'] === 'no-cors' ? 'beacon' : 'fetchLater';
      const arrival: BatchArrival = { via, bytes: Number(req.headers['content-length'] ?? 0), at: performance.now(), lost: wire.losing, lostKeys: [] };
      wire.batches.push(arrival);
      if (arrival.lost) {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => (arrival.lostKeys = keysInBody(body)));
        return true;
      }
    }
    return handle(req, res);
  };
  return wire;
}

/** Requests per way of sending, e.g. `{ beacon: 1 }`. */
export function countByVia(batches: readonly BatchArrival[]): Partial<Record<Via, number>> {
  const counts: Partial<Record<Via, number>> = {};
  for (const { via } of batches) counts[via] = (counts[via] ?? 0) + 1;
  return counts;
}

/** One batch request as the page made it, logged by the page itself (see {@link logPageSends}). */
export interface PageSend {
  via: 'fetch' | 'beacon' | 'fetchLater';
  bytes: number;
  keepalive: boolean;
  /** sendBeacon's answer; for fetch, false only when it threw at once. */
  accepted: boolean;
  /** Made after the page began to leave (visibilitychange to hidden, or pagehide). */
  leaving: boolean;
  onLine: boolean;
  /** For fetch: the HTTP status if the page lived to see the answer, else undefined. */
  answered?: number;
  /** For fetch: the answer came before the page began to leave. */
  answeredBeforeLeaving?: boolean;
}

/** Requests the page saw answered 2xx before it began to leave: what loopback may have confirmed in a hurry. */
export function confirmedBeforeLeaving(sends: readonly PageSend[]): number {
  return sends.filter((send) => send.answeredBeforeLeaving === true && send.answered !== undefined && send.answered < 300).length;
}

const SENDS_KEY = 'e2e:sends';
const STATS_AT_PAGEHIDE_KEY = 'e2e:stats-at-pagehide';

/**
 * Every page of the context logs the batch requests it makes (fetch, sendBeacon, fetchLater)
 * in localStorage, which outlives the page: the next page of the origin reads the log. The
 * init script runs before the page's scripts, so its `pagehide` and `visibilitychange`
 * listeners run before homing's and mark what follows as sent while leaving.
 */
export async function logPageSends(context: BrowserContext): Promise<void> {
  await context.addInitScript((key) => {
    let leaving = false;
    addEventListener('pagehide', () => (leaving = true));
    document.addEventListener('visibilitychange', () => (leaving ||= document.visibilityState === 'hidden'));
    const append = (entry: Record<string, unknown>): number => {
      const sends = JSON.parse(localStorage.getItem(key) ?? '[]') as Record<string, unknown>[];
      sends.push({ ...entry, leaving, onLine: navigator.onLine });
      localStorage.setItem(key, JSON.stringify(sends));
      return sends.length - 1;
    };
    const update = (index: number, fields: Record<string, unknown>) => {
      const sends = JSON.parse(localStorage.getItem(key) ?? '[]') as Record<string, unknown>[];
      if (sends[index]) Object.assign(sends[index], fields);
      localStorage.setItem(key, JSON.stringify(sends));
    };
    const sizeOf = (body: unknown): number =>
      typeof body === 'string' ? new TextEncoder().encode(body).length : body instanceof Blob ? body.size : 0;
    const isBatch = (url: unknown) => String(url instanceof Request ? url.url : url).includes('/v1/batch');

    const fetch = window.fetch;
    window.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      if (!isBatch(input)) return fetch.call(this, input, init);
      const index = append({ via: 'fetch', bytes: sizeOf(init?.body), keepalive: init?.keepalive === true, accepted: true });
      try {
        const answer = fetch.call(this, input, init);
        answer.then((response) => update(index, { answered: response.status, answeredBeforeLeaving: !leaving })).catch(() => {});
        return answer;
      } catch (error) {
        update(index, { accepted: false });
        throw error;
      }
    } as typeof fetch;
    const sendBeacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => {
      if (!isBatch(url)) return sendBeacon(url, data);
      const accepted = sendBeacon(url, data);
      append({ via: 'beacon', bytes: sizeOf(data), keepalive: true, accepted });
      return accepted;
    };
    const scope = window as unknown as { fetchLater?: (input: RequestInfo | URL, init?: RequestInit) => unknown };
    const fetchLater = scope.fetchLater;
    if (typeof fetchLater === 'function') {
      scope.fetchLater = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
        if (isBatch(input)) append({ via: 'fetchLater', bytes: sizeOf(init?.body), keepalive: true, accepted: true });
        return fetchLater.call(this, input, init);
      };
    }
  }, SENDS_KEY);
}

/** The batch requests every page of the origin made so far, read from any page of the origin. */
export function pageSends(page: Page): Promise<PageSend[]> {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? '[]'), SENDS_KEY);
}

/** What homing's stats said in the last `pagehide` listener of the page (registered after homing's). */
export interface StatsAtPagehide {
  queued: number;
  delivered: number;
  handedOff?: number;
}

/**
 * Registers, after homing's listeners, a `pagehide` listener that writes homing's stats to
 * localStorage: the last word of the page on what it delivered and handed off.
 */
export async function recordStatsAtPagehide(page: Page): Promise<void> {
  await page.evaluate((key) => {
    addEventListener('pagehide', () => localStorage.setItem(key, JSON.stringify(window.homing('stats'))));
  }, STATS_AT_PAGEHIDE_KEY);
}

/** The stats the previous page wrote at its `pagehide`, read from the page that followed it. */
export async function statsAtPagehide(page: Page): Promise<StatsAtPagehide | undefined> {
  const text = await page.evaluate((key) => localStorage.getItem(key), STATS_AT_PAGEHIDE_KEY);
  return text ? (JSON.parse(text) as StatsAtPagehide) : undefined;
}

/** What the page does in the task that tracks the events, before it goes. */
export interface LeaveOptions extends TrackedShape {
  /** Milliseconds between the last `track()` and leaving; 0 leaves in the same task. */
  afterMs?: number;
  /** Host keepalive requests to fire just before leaving, in bytes each. */
  hostKeepaliveBytes?: readonly number[];
}

/**
 * Tracks `count` events named `name` and navigates to the blank page, in one task unless
 * `afterMs` says otherwise; returns the events' keys once the blank page has loaded.
 */
export async function trackThenNavigate(page: Page, count: number, name: string, options: LeaveOptions = {}): Promise<string[]> {
  await page.evaluate(trackThenLeaveInPage, { count, name, ...leaveArguments(options), leave: 'navigate' as const, to: BLANK_PATH }).catch(unlessGone);
  await page.waitForURL(`**${BLANK_PATH}`);
  return keysOf(name, count);
}

/**
 * Tracks `count` events in `tab` and closes it with `window.close()` in the same task (the tab
 * must have been opened by script, see {@link openClosableTab}); returns the keys once it closed.
 */
export async function trackThenClose(tab: Page, count: number, name: string): Promise<string[]> {
  const closed = tab.waitForEvent('close');
  await tab.evaluate(trackThenLeaveInPage, { count, name, ...leaveArguments({}), leave: 'close' as const, to: '' }).catch(unlessGone);
  await closed;
  return keysOf(name, count);
}

/** A tab opened with `window.open` from `opener`, so that its own script may close it. */
export async function openClosableTab(opener: Page, url: string): Promise<Page> {
  const opened = opener.context().waitForEvent('page');
  await opener.evaluate((url) => void window.open(url, '_blank'), url);
  const tab = await opened;
  await tab.waitForLoadState('load');
  await trackerReady(tab);
  return tab;
}

/** An evaluate that made its page go may lose its answer with the page; any other error stands. */
function unlessGone(error: Error): void {
  if (!/context was destroyed|closed|navigat/i.test(error.message)) throw error;
}

function leaveArguments(options: LeaveOptions) {
  return { afterMs: options.afterMs ?? 0, padChars: options.padChars ?? 0, hostKeepaliveBytes: [...(options.hostKeepaliveBytes ?? [])], hostPath: HOST_KEEPALIVE_PATH };
}

/** Runs in the page: one task that tracks, optionally fires host keepalive requests, and leaves. */
function trackThenLeaveInPage(args: {
  count: number;
  name: string;
  padChars: number;
  afterMs: number;
  hostKeepaliveBytes: number[];
  hostPath: string;
  leave: 'navigate' | 'close';
  to: string;
}): void {
  const pad = 'p'.repeat(args.padChars);
  for (let seq = 0; seq < args.count; seq++) window.homing('track', args.name, args.padChars ? { seq, pad } : { seq });
  const leave = () => {
    for (const bytes of args.hostKeepaliveBytes) {
      void fetch(args.hostPath, { method: 'POST', body: 'h'.repeat(bytes), keepalive: true }).catch(() => {});
    }
    if (args.leave === 'close') window.close();
    else location.assign(args.to);
  };
  if (args.afterMs > 0) setTimeout(leave, args.afterMs);
  else leave();
}

/**
 * The next visit: the tracker page again, on `page`, with a short flush interval; resolves once
 * that tracker holds nothing more (everything it found is sent or given up) and a moment passed.
 */
export async function nextVisit(page: Page, demo: Pick<Demo, 'url'>): Promise<void> {
  await page.goto(trackerPage(demo, { flushInterval: NEXT_VISIT_FLUSH_INTERVAL }));
  await trackerReady(page);
  await page.evaluate(() => window.homing('flush'));
  await expect.poll(() => stats(page).then((figures) => figures.queued + figures.inFlight), { timeout: 15_000 }).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, NEXT_VISIT_SETTLE_MS));
}

/** The key of the single event a host listener tracks as `name`. */
export function singleKey(name: string): string {
  return eventKey(name, 0);
}
