/**
 * What the extras' scenarios share: the collector's events of one kind, and stand-ins for the
 * pages outside the site (another origin, a file to download) that the fixtures link to.
 */
import type { BrowserContext } from '@playwright/test';
import { receivedEvents, type Collector, type WireEvent } from './helpers';

/** The origin the fixtures' outbound links point to, answered by a route: no network involved. */
export const OUTBOUND_URL = 'http://outbound.test/landing';

/** Answers OUTBOUND_URL with a page of its own, as another site would. */
export async function serveOutboundSite(context: BrowserContext): Promise<void> {
  await context.route('http://outbound.test/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Partner</title><h1>Another site</h1>' }),
  );
}

/** Answers `/extras-files/*.pdf` on the demo origin as a file to save, not a page to show. */
export async function serveDownloads(context: BrowserContext, origin: string): Promise<void> {
  await context.route(`${origin}extras-files/**`, (route) =>
    route.fulfill({
      status: 200,
      headers: { 'Content-Type': 'application/pdf', 'Content-Disposition': 'attachment; filename="price-list.pdf"' },
      body: '%PDF-1.4\n% a price list stand-in\n',
    }),
  );
}

/** The accepted track events named `name`, in arrival order. */
export function eventsNamed(collector: Collector, name: string): WireEvent[] {
  return receivedEvents(collector).filter((event) => event.type === 'track' && event.event === name);
}

/** The accepted page events, in arrival order. */
export function pageViews(collector: Collector): WireEvent[] {
  return receivedEvents(collector).filter((event) => event.type === 'page');
}
