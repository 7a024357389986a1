import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { DIST_DIR, expect, record, test, waitForDelivery } from './helpers';

/** A page of the test's own on the demo's origin, so the bundle is the one /dist/ serves. */
const PAGE_PATH = 'sri-test.html';

/** The `sha384-…` values the build wrote for the browser bundles. */
async function builtIntegrity(): Promise<Record<string, string>> {
  return JSON.parse(await readFile(`${DIST_DIR}integrity.json`, 'utf8')) as Record<string, string>;
}

/** The shipped snippet, called with its fifth argument: the bundle's integrity. */
async function snippetWithIntegrity(integrity: string): Promise<string> {
  const snippet = (await readFile(`${DIST_DIR}snippet.min.js`, 'utf8')).trim();
  const options = '{endpoint:"/v1/batch"}';
  if (!snippet.endsWith(`${options});`)) throw new Error('dist/snippet.min.js no longer ends with its options: update this test');
  return `${snippet.slice(0, -');'.length)},${JSON.stringify(integrity)});`.replace(options, '{endpoint:"/v1/batch",flushInterval:500}');
}

async function openPage(page: Page, demoUrl: string, head: string): Promise<void> {
  await page.route(`${demoUrl}${PAGE_PATH}`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: `<!doctype html><html><head>${head}</head><body></body></html>` }),
  );
  await page.goto(`${demoUrl}${PAGE_PATH}`);
}

async function trackThree(page: Page): Promise<string[]> {
  await expect.poll(() => page.evaluate(() => 'tracker' in window.homing)).toBe(true);
  return page.evaluate(() => {
    const ids: string[] = [];
    const off = window.homing('on', 'queued', (event: { messageId: string }) => ids.push(event.messageId)) as () => void;
    for (let seq = 0; seq < 3; seq++) window.homing('track', 'Pinned Bundle Event', { seq });
    // A burst is enriched in a task of its own; stats() has it done now.
    window.homing('stats');
    off();
    return ids;
  });
}

test.describe('subresource integrity of the bundle', () => {
  test('the snippet loads a bundle whose sha384 matches its integrity argument', async ({ page, demo }) => {
    const { 'homing.iife.js': integrity } = await builtIntegrity();
    await openPage(page, demo.url, `<script>${await snippetWithIntegrity(integrity!)}</script>`);
    expect(await page.evaluate(() => document.querySelector('script[src$="homing.iife.js"]')?.getAttribute('crossorigin'))).toBe('anonymous');
    const tracked = await trackThree(page);
    const figures = await waitForDelivery(demo.collector, tracked, 5_000);
    expect(figures).toEqual({ unique: 3, duplicates: 0, missing: 0, unexpected: 0 });
    record('snippet with integrity', figures);
  });

  test('a plain script tag with integrity and crossorigin delivers', async ({ page, demo }) => {
    const { 'homing.iife.js': integrity } = await builtIntegrity();
    await openPage(
      page,
      demo.url,
      `<script src="/dist/homing.iife.js" integrity="${integrity}" crossorigin="anonymous" data-endpoint="/v1/batch" data-flush-interval="500" async></script>`,
    );
    const tracked = await trackThree(page);
    expect(await waitForDelivery(demo.collector, tracked, 5_000)).toEqual({ unique: 3, duplicates: 0, missing: 0, unexpected: 0 });
  });

  test('the browser refuses a bundle whose bytes do not match the integrity given', async ({ page, demo }) => {
    // A well-formed sha384 of other bytes: what a tampered or mismatched bundle looks like.
    const { 'snippet.min.js': otherFilesIntegrity } = await builtIntegrity();
    const refusals: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && /integrity/i.test(message.text())) refusals.push(message.text());
    });
    const bundleFetched = page.waitForResponse((response) => response.url().endsWith('/dist/homing.iife.js'));
    await openPage(page, demo.url, `<script>${await snippetWithIntegrity(otherFilesIntegrity!)}</script>`);
    await bundleFetched;
    await expect.poll(() => refusals.length).toBeGreaterThan(0);
    // Fetched, refused, never run: the stub is still the stub.
    expect(await page.evaluate(() => ({ stub: Array.isArray((window.homing as { q?: unknown }).q), loaded: 'tracker' in window.homing }))).toEqual({
      stub: true,
      loaded: false,
    });
  });
});
