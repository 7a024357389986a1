import { arrivalOrder, burst, expect, record, stats, test, trackerPage, waitForDelivery, type Demo } from './helpers';

/** Requests the collector answered with `status` so far. */
const outcomes = (demo: Demo, status: string): number => demo.collector.state.outcomes[status] ?? 0;

test.describe('a collector that fails for a while', () => {
  test('503s, then ok: everything arrives once, in the order it was tracked', async ({ page, demo }) => {
    demo.collector.setMode('503');
    await page.goto(trackerPage(demo, { flushInterval: 500, batchSize: 10 }));

    const first = await burst(page, 12, 'During Outage');
    await expect.poll(() => outcomes(demo, '503'), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // More events join while the failed ones wait at the front of the queue.
    const second = await burst(page, 12, 'During Outage');
    await expect.poll(() => outcomes(demo, '503'), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(demo.collector.received().unique).toBe(0);

    demo.collector.setMode('ok');
    const tracked = [...first, ...second];
    const figures = await waitForDelivery(demo.collector, tracked, 20_000);
    await expect.poll(() => stats(page).then((s) => s.queued + s.inFlight)).toBe(0);
    expect(figures).toEqual({ unique: 24, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);
    record('503 then ok', { ...figures, outcomes: demo.collector.state.outcomes });
  });

  test('429 with Retry-After: 2 keeps every request away for 2 s', async ({ page, demo }) => {
    const RETRY_AFTER_MS = 2_000;
    demo.collector.setMode('429', { retryAfter: RETRY_AFTER_MS / 1000 });
    await page.goto(trackerPage(demo, { flushInterval: 500 }));

    const tracked = await burst(page, 5, 'Rate Limited');
    await expect.poll(() => outcomes(demo, '429'), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    demo.collector.setMode('ok');
    const figures = await waitForDelivery(demo.collector, tracked, 10_000);
    expect(figures).toEqual({ unique: 5, duplicates: 0, missing: 0, unexpected: 0 });
    expect(arrivalOrder(demo.collector, tracked)).toEqual(tracked);

    // Every request the collector saw, with the gap since the one before it.
    const requests = demo.batchRequests;
    expect(requests).toHaveLength(demo.collector.state.requests);
    const gaps = requests.slice(1).map((request, i) => ({ after: requests[i]!.outcome, ms: Math.round(request.at - requests[i]!.at) }));
    const afterRateLimit = gaps.filter((gap) => gap.after === 429);
    expect(afterRateLimit.length).toBeGreaterThanOrEqual(2);
    for (const gap of afterRateLimit) expect(gap.ms).toBeGreaterThanOrEqual(RETRY_AFTER_MS);
    record('429 Retry-After 2 s', { ...figures, gapsMs: gaps });
  });
});
