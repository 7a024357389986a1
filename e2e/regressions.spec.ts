/**
 * Issue 14, the items only a browser can show: a tracker in a sandboxed (opaque-origin) frame,
 * and the script tag's `data-` attributes that look like numbers. The unit-level items are in
 * test/regressions.test.ts.
 */
import type { Request } from '@playwright/test';
import { expect, record, test, waitForDelivery, type PageStats } from './helpers';

/** The body of a `POST /v1/batch`, as the page sent it. */
interface BatchBody {
  batch: Array<{ messageId: string }>;
  writeKey?: unknown;
}

const isBatchRequest = (request: Request) => request.method() === 'POST' && new URL(request.url()).pathname === '/v1/batch';

test.describe('issue 14', () => {
  test('delivers from a sandboxed frame (allow-scripts, an opaque origin): one track(), then flush() after 2 s', async ({ page, demo }) => {
    await page.goto(`${demo.url}e2e/sandboxed-frame.html`);
    const content = page.frames().find((candidate) => candidate.url().endsWith('/e2e/sandboxed-frame-content.html'));
    expect(content, 'the sandboxed frame loaded').toBeDefined();
    // Really an opaque origin: the frame has no storage.
    expect(await content!.evaluate(() => ({ origin: window.origin, localStorage: (() => { try { return typeof window.localStorage; } catch { return 'blocked'; } })() }))).toEqual({
      origin: 'null',
      localStorage: 'blocked',
    });

    const tracked = await content!.evaluate(() => (window as unknown as { e2eTracked: string[] }).e2eTracked);
    expect(tracked).toHaveLength(1);
    const flushed = await content!.evaluate(() => (window as unknown as { e2eFlushed: Promise<PageStats & { requests: number }> }).e2eFlushed);
    console.log(`[counts] sandboxed frame, stats after flush(): ${JSON.stringify(flushed)}`);

    record('sandboxed frame', await waitForDelivery(demo.collector, tracked, 5_000));
    expect(flushed).toMatchObject({ queued: 0, delivered: 1 });
  });

  test('passes data-write-key="12345" and data-storage-key="1" of the script tag to the tracker as strings', async ({ page, demo }) => {
    const batchBody = page.waitForRequest(isBatchRequest).then((request) => request.postDataJSON() as BatchBody);
    await page.goto(`${demo.url}e2e/auto-init-strings.html`);
    await expect.poll(() => page.evaluate(() => typeof window.homing === 'function' && 'tracker' in window.homing)).toBe(true);
    await page.evaluate(() => window.homing('track', 'Auto Init Event'));

    const body = await batchBody;
    const errors = await page.evaluate(() => (window as unknown as { e2eErrors: Array<{ code: string; option?: string }> }).e2eErrors);
    console.log(`[counts] data- attribute strings: writeKey=${JSON.stringify(body.writeKey)} errors=${JSON.stringify(errors)}`);

    record('data- attribute strings', await waitForDelivery(demo.collector, body.batch.map((event) => event.messageId), 5_000));
    expect(body.writeKey).toBe('12345');
    expect(errors.filter((error) => error.code === 'invalid_option')).toEqual([]);
  });
});
