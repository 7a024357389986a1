/**
 * Delivery through the tracker, one test per row of design.md's "What the collector's answer
 * means", plus when batches go out. A recording transport answers; fake time runs the backoff.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SendResult } from '../src/transport/transport';
import { createMemoryStore } from '../src/store/memory';
import { stubDocument, stubNavigator, stubWindowEvents } from './support/browser-stubs';
import { answersInTurn, DELIVERED, neverAnswers, type Answer } from './support/recording-transport';
import { HANDOFF_TRUST_MS } from '../src/delivery';
import { elapse, settle, useFakeTime } from './support/time';
import { numbered, shutDownTestTrackers, startTestTracker, trackNumbered } from './support/tracker-harness';

const retry = (status?: number, extra: Partial<Extract<SendResult, { kind: 'retry' }>> = {}): SendResult => ({ kind: 'retry', status, ...extra });
const alwaysRetry: Answer = () => retry(503);
/** With the harness's random source of 0.5, the first backoff is half of one second. */
const FIRST_BACKOFF_MS = 500;

beforeEach(() => {
  useFakeTime();
});

afterEach(async () => {
  await shutDownTestTrackers();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('2xx: delivered', () => {
  it('removes the batch from the store and reports it delivered', async () => {
    const store = createMemoryStore();
    const { tracker, batches, delivered } = await startTestTracker({ store });
    trackNumbered(tracker, 1, 3);

    const stats = await tracker.flush();
    await tracker.shutdown();

    expect(batches()).toEqual([numbered(1, 3)]);
    expect(delivered.map(({ events }) => events.map((event) => event.event))).toEqual([numbered(1, 3)]);
    expect(stats).toMatchObject({ delivered: 3, queued: 0, dropped: 0, requests: 1 });
    expect((await store.load()).events).toEqual([]);
  });
});

describe('400, 401, 403, 404, 410, 422: permanent', () => {
  it.each([400, 401, 403, 404, 410, 422])('drops a batch answered %i, counts it as rejected and reports it', async (status) => {
    const { tracker, requests, dropped, errors } = await startTestTracker({ answer: answersInTurn({ kind: 'rejected', status }) });
    trackNumbered(tracker, 1, 2);

    await tracker.flush();
    await elapse(60_000);

    expect(requests).toHaveLength(1);
    expect(tracker.stats()).toMatchObject({ queued: 0, dropped: 2, droppedBy: { rejected: 2 }, delivered: 0 });
    expect(dropped).toEqual([expect.objectContaining({ reason: 'rejected', message: expect.stringContaining(String(status)) })]);
    expect(dropped[0]!.events.map((event) => event.event)).toEqual(numbered(1, 2));
    expect(errors).toEqual([expect.objectContaining({ code: 'rejected' })]);
  });

  it('goes on sending the events tracked after a rejected batch', async () => {
    const { tracker, batches } = await startTestTracker({ answer: answersInTurn({ kind: 'rejected', status: 400 }) });
    tracker.track('e1');
    await tracker.flush();

    tracker.track('e2');
    const stats = await tracker.flush();

    expect(batches()).toEqual([['e1'], ['e2']]);
    expect(stats.delivered).toBe(1);
  });
});

describe('413: too large', () => {
  /** 413 for every batch holding the event named "big", 200 otherwise. */
  const refusesBig: Answer = (request) => (request.names.includes('big') ? { kind: 'too-large', status: 413 } : { kind: 'delivered', status: 200 });

  it('splits the batch in halves, keeps their order, and drops the single event that is too large alone', async () => {
    const { tracker, batches, dropped } = await startTestTracker({ answer: refusesBig });
    for (const name of ['e1', 'e2', 'big', 'e3']) tracker.track(name);

    const stats = await tracker.flush();

    expect(batches()).toEqual([['e1', 'e2', 'big', 'e3'], ['e1', 'e2'], ['big', 'e3'], ['big'], ['e3']]);
    expect(stats).toMatchObject({ delivered: 3, queued: 0, droppedBy: { tooLarge: 1 } });
    expect(dropped).toEqual([expect.objectContaining({ reason: 'tooLarge' })]);
    expect(dropped[0]!.events.map((event) => event.event)).toEqual(['big']);
  });

  it('does not count a split as a failed attempt', async () => {
    const { tracker, retries } = await startTestTracker({ answer: refusesBig, maxAttempts: 1 });
    for (const name of ['e1', 'big']) tracker.track(name);

    const stats = await tracker.flush();

    expect(retries).toEqual([]);
    expect(stats).toMatchObject({ delivered: 1, droppedBy: { tooLarge: 1, attempts: 0 } });
  });
});

describe('408, 429, 5xx, network error, timeout: retryable', () => {
  const retryable: Array<[string, SendResult]> = [
    ['408', retry(408)],
    ['429', retry(429)],
    ['500', retry(500)],
    ['502', retry(502)],
    ['503', retry(503)],
    ['504', retry(504)],
    ['a network error', { kind: 'retry', cause: new TypeError('Failed to fetch') }],
  ];

  it.each(retryable)('puts a batch that got %s back in front, in order, and sends nothing before the backoff', async (_what, result) => {
    const { tracker, batches, retries } = await startTestTracker({ answer: answersInTurn(result), batchSize: 3 });
    trackNumbered(tracker, 1, 3);
    await settle();
    tracker.track('e4');

    await elapse(FIRST_BACKOFF_MS - 1);
    expect(batches()).toEqual([numbered(1, 3)]);
    expect(tracker.stats()).toMatchObject({ queued: 4, retried: 3, health: 'degraded' });
    expect(retries).toEqual([expect.objectContaining({ attempt: 1, delayMs: FIRST_BACKOFF_MS })]);

    await elapse(1);
    await tracker.flush();
    expect(batches().slice(1).flat()).toEqual(numbered(1, 4));
    expect(tracker.stats()).toMatchObject({ delivered: 4, queued: 0, dropped: 0, health: 'healthy' });
  });

  it('sends the same messageIds again: the collector can dedupe', async () => {
    const { tracker, requests } = await startTestTracker({ answer: answersInTurn(retry(503)) });
    trackNumbered(tracker, 1, 2);
    await tracker.flush();

    await elapse(FIRST_BACKOFF_MS);
    await tracker.flush();

    const ids = requests.map((request) => request.payload.batch.map((event) => event.messageId));
    expect(ids.slice(1).flat()).toEqual(ids[0]);
  });

  it('draws the backoff from the injected random source', async () => {
    const { tracker, batches } = await startTestTracker({ answer: answersInTurn(retry(503)), random: () => 0.9 });
    tracker.track('e1');
    await tracker.flush();

    await elapse(899);
    expect(batches()).toHaveLength(1);
    await elapse(1);
    expect(batches()).toHaveLength(2);
  });

  it('waits longer after each consecutive failure', async () => {
    const { tracker, requests, retries } = await startTestTracker({ answer: answersInTurn(retry(503), retry(503), retry(503)) });
    tracker.track('e1');
    await tracker.flush();

    await elapse(500);
    await elapse(1_000);
    await elapse(1_999);
    expect(requests).toHaveLength(3);
    await elapse(1);

    expect(requests).toHaveLength(4);
    expect(retries.map((r) => r.delayMs)).toEqual([500, 1_000, 2_000]);
  });

  it('honours Retry-After: no request before the time the collector asked for', async () => {
    const { tracker, batches } = await startTestTracker({ answer: answersInTurn(retry(429, { retryAfterMs: 30_000 })) });
    tracker.track('e1');
    await tracker.flush();

    await elapse(29_999);
    await tracker.flush();
    expect(batches()).toHaveLength(1);

    await elapse(1);
    expect(batches()).toEqual([['e1'], ['e1']]);
  });

  it('retries a request the real fetch transport timed out', async () => {
    let calls = 0;
    const fetch = vi.fn<typeof globalThis.fetch>((_input, init) => {
      if (calls++ > 0) return Promise.resolve(new Response(null, { status: 200 }));
      return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    });
    const { tracker, retries } = await startTestTracker({ fetch, transport: 'fetch', timeout: 100 });
    tracker.track('e1');
    void tracker.flush();

    await elapse(99);
    expect(retries).toEqual([]);
    await elapse(1);
    expect(retries).toEqual([expect.objectContaining({ attempt: 1, reason: expect.stringContaining('network error') })]);

    await elapse(FIRST_BACKOFF_MS);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(tracker.stats()).toMatchObject({ delivered: 1, queued: 0 });
  });
});

describe('the attempt limit', () => {
  it('drops an event after maxAttempts failed attempts, counts it as attempts and reports it', async () => {
    const { tracker, requests, dropped, errors } = await startTestTracker({ answer: alwaysRetry, maxAttempts: 3 });
    tracker.track('e1');
    await tracker.flush();

    await elapse(500);
    await elapse(1_000);
    await elapse(60_000);

    expect(requests).toHaveLength(3);
    expect(tracker.stats()).toMatchObject({ queued: 0, dropped: 1, droppedBy: { attempts: 1 } });
    expect(dropped).toEqual([expect.objectContaining({ reason: 'attempts' })]);
    expect(errors.map((error) => error.code)).toEqual(['gave_up']);
  });
});

describe('offline', () => {
  it('makes no attempt while navigator.onLine is false, and sends once the runtime is online', async () => {
    const window = stubWindowEvents();
    const navigator = stubNavigator(false);
    const { tracker, batches, retries } = await startTestTracker({ maxAttempts: 1 });
    tracker.track('e1');

    await tracker.flush();
    await elapse(60_000);
    expect(batches()).toEqual([]);
    expect(tracker.stats().queued).toBe(1);

    navigator.onLine = true;
    window.dispatchEvent(new Event('online'));
    await settle();

    expect(batches()).toEqual([['e1']]);
    expect(retries).toEqual([]);
    expect(tracker.stats()).toMatchObject({ delivered: 1, dropped: 0 });
  });
});

describe('the circuit breaker', () => {
  it('probes with a single event after a failure, and sends full batches again only once a probe succeeds', async () => {
    const { tracker, batches } = await startTestTracker({ answer: answersInTurn(retry(503), retry(503)), batchSize: 5 });
    trackNumbered(tracker, 1, 10);
    await settle();

    await elapse(500);
    await elapse(1_000);
    await tracker.flush();

    expect(batches()).toEqual([numbered(1, 5), ['e1'], ['e1'], numbered(2, 6), numbered(7, 10)]);
  });
});

describe('when batches go out', () => {
  it('sends a batch as soon as batchSize events are queued', async () => {
    const { tracker, batches } = await startTestTracker({ batchSize: 3 });

    trackNumbered(tracker, 1, 3);
    await settle();

    expect(batches()).toEqual([numbered(1, 3)]);
  });

  it('fills whole batches from a burst of track() calls, one request at a time, in order', async () => {
    const { tracker, batches } = await startTestTracker({ batchSize: 50 });

    trackNumbered(tracker, 1, 120);
    await settle();
    await tracker.flush();

    expect(batches()).toEqual([numbered(1, 50), numbered(51, 100), numbered(101, 120)]);
  });

  it('sends a batch that is not full after flushInterval', async () => {
    const { tracker, batches } = await startTestTracker({ batchSize: 10, flushInterval: 5_000 });
    trackNumbered(tracker, 1, 2);

    await elapse(4_999);
    expect(batches()).toEqual([]);

    await elapse(1);
    expect(batches()).toEqual([numbered(1, 2)]);
  });

  it('keeps a request within maxBatchBytes', async () => {
    const { tracker, requests } = await startTestTracker({ maxBatchBytes: 2_048 });
    for (let n = 1; n <= 6; n++) tracker.track(`e${n}`, { padding: 'x'.repeat(500) });

    await tracker.flush();

    expect(requests.length).toBeGreaterThan(1);
    for (const request of requests) expect(request.bytes).toBeLessThanOrEqual(2_048);
    expect(requests.flatMap((request) => request.names)).toEqual(numbered(1, 6));
  });

  it('sends at once on flush()', async () => {
    const { tracker, batches } = await startTestTracker({ batchSize: 10 });
    tracker.track('e1');

    const stats = await tracker.flush();

    expect(batches()).toEqual([['e1']]);
    expect(stats).toMatchObject({ delivered: 1, queued: 0 });
  });

  it('flushes on shutdown() and leaves no timer behind', async () => {
    const { tracker, batches } = await startTestTracker({ batchSize: 10 });
    trackNumbered(tracker, 1, 2);

    await tracker.shutdown();

    expect(batches()).toEqual([numbered(1, 2)]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind when shut down during a backoff', async () => {
    const { tracker } = await startTestTracker({ answer: alwaysRetry });
    tracker.track('e1');
    await tracker.flush();

    await tracker.shutdown();

    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores, and reports, events tracked after shutdown()', async () => {
    const { tracker, batches, errors } = await startTestTracker();
    await tracker.shutdown();

    tracker.track('late');
    await elapse(60_000);

    expect(batches()).toEqual([]);
    expect(errors.map((error) => error.code)).toEqual(['shut_down']);
  });
});

describe('when the page hides', () => {
  it('hands every waiting event to the transport at once, with keepalive', async () => {
    const page = stubDocument();
    const { tracker, requests } = await startTestTracker({ batchSize: 10 });
    trackNumbered(tracker, 1, 3);

    page.hide();
    await settle();

    expect(requests.map((request) => [request.keepalive, request.names])).toEqual([[true, numbered(1, 3)]]);
    expect(tracker.stats()).toMatchObject({ delivered: 3, queued: 0 });
  });

  /** The collector answers the first request, then never again: the page hides with events in flight. */
  const answersOnceThenHangs: Answer = (request, index) => (index === 0 ? DELIVERED : neverAnswers(request, index));

  it('does not send again, on the next page load, what it handed off while the collector was answering', async () => {
    const page = stubDocument();
    const store = createMemoryStore();
    const first = await startTestTracker({ store, batchSize: 10, answer: answersOnceThenHangs });
    first.tracker.track('e0');
    await first.tracker.flush();
    trackNumbered(first.tracker, 1, 3);
    page.hide();
    await settle();

    const second = await startTestTracker({ store });
    await second.tracker.flush();

    expect(first.batches()).toEqual([['e0'], numbered(1, 3)]);
    expect(second.requests).toEqual([]);
    expect((await store.load()).events).toEqual([]);
  });

  it('sends a hand-off again on the next page load when the collector had not answered in the last minute', async () => {
    const page = stubDocument();
    const store = createMemoryStore();
    const first = await startTestTracker({ store, batchSize: 10, answer: answersOnceThenHangs });
    first.tracker.track('e0');
    await first.tracker.flush();
    await elapse(HANDOFF_TRUST_MS);
    trackNumbered(first.tracker, 1, 3);
    page.hide();
    await settle();

    const second = await startTestTracker({ store });
    await second.tracker.flush();

    expect(first.batches()).toEqual([['e0'], numbered(1, 3)]);
    expect(second.batches()).toEqual([numbered(1, 3)]);
  });

  it('keeps the events in the store instead of handing them off while the collector is failing', async () => {
    const page = stubDocument();
    const { tracker, batches } = await startTestTracker({ batchSize: 10, answer: answersInTurn(retry(503)) });
    tracker.track('e1');
    await tracker.flush();
    tracker.track('e2');

    page.hide();
    await settle();

    expect(batches()).toEqual([['e1']]);
    expect(tracker.stats().queued).toBe(2);
  });
});
