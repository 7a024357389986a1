/**
 * Broken networks, through the real fetch transport with an injected `fetch`: timeouts, hung
 * requests, refused connections, CORS failures, redirects, garbage bodies and statuses no
 * collector should send. Each lands in its row of design.md's "What the collector's answer
 * means", asserted through stats() and the tracker's events.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stubNavigator, stubWindowEvents } from './support/browser-stubs';
import { createFakeCollector, hangForever, hangUntilAborted, status, unusualResponse, type FetchAnswer } from './support/fake-collector';
import { elapse, settle, useFakeTime } from './support/time';
import { createTestTracker, numbered, shutDownTestTrackers, trackNumbered } from './support/tracker-harness';

/** With the harness's random source of 0.5, the first backoff is half of one second. */
const FIRST_BACKOFF_MS = 500;
const TIMEOUT_MS = 2_000;
const ok = () => status(200);

/** Answers the first requests with `answers`, in order, and every later one with a 200. */
const inTurn =
  (...answers: FetchAnswer[]): FetchAnswer =>
  (request, index) =>
    (answers[index] ?? ok)(request, index);

/** A tracker sending through the real fetch transport to a fake collector answering as told. */
async function startWithCollector(answer: FetchAnswer, options: { maxAttempts?: number; batchSize?: number } = {}) {
  const collector = createFakeCollector(answer);
  const harness = createTestTracker({ transport: 'fetch', fetch: collector.fetch, timeout: TIMEOUT_MS, ...options });
  await settle();
  return { ...harness, collector };
}

beforeEach(() => {
  useFakeTime();
});

afterEach(async () => {
  await shutDownTestTrackers();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('timeouts and hung requests', () => {
  it('aborts a request that never answers after `timeout`, and sends it again after the backoff', async () => {
    const { tracker, collector, retries } = await startWithCollector(inTurn(hangUntilAborted));
    tracker.track('e1');
    void tracker.flush();

    await elapse(TIMEOUT_MS - 1);
    expect(collector.requests[0]!.signal!.aborted).toBe(false);
    expect(retries).toEqual([]);
    await elapse(1);

    expect(collector.requests[0]!.signal!.aborted).toBe(true);
    expect(retries).toEqual([expect.objectContaining({ attempt: 1, delayMs: FIRST_BACKOFF_MS, reason: expect.stringContaining('AbortError') })]);
    expect(tracker.stats()).toMatchObject({ queued: 1, inFlight: 0, retried: 1, delivered: 0 });
    await elapse(FIRST_BACKOFF_MS);
    expect(collector.acceptedNames()).toEqual(['e1']);
    expect(tracker.stats()).toMatchObject({ queued: 0, delivered: 1, requests: 2 });
  });

  it('gives up waiting after `timeout` on a request whose fetch ignores the abort, and sends it again', async () => {
    const { tracker, collector, retries } = await startWithCollector(inTurn(hangForever));
    tracker.track('e1');
    void tracker.flush();

    await elapse(TIMEOUT_MS);
    expect(retries).toEqual([expect.objectContaining({ attempt: 1 })]);
    expect(tracker.stats()).toMatchObject({ inFlight: 0, queued: 1 });
    await elapse(FIRST_BACKOFF_MS);

    expect(collector.acceptedNames()).toEqual(['e1']);
    expect(tracker.stats()).toMatchObject({ queued: 0, delivered: 1 });
  });

  it('keeps the events tracked during a hung request and sends them, in order, after it', async () => {
    const { tracker, collector } = await startWithCollector(inTurn(hangUntilAborted), { batchSize: 10 });
    tracker.track('e1');
    void tracker.flush();
    await settle();
    trackNumbered(tracker, 2, 4);

    await elapse(TIMEOUT_MS);
    await elapse(FIRST_BACKOFF_MS);
    await tracker.flush();

    expect(collector.batches()).toEqual([['e1'], ['e1'], numbered(2, 4)]);
    expect(collector.acceptedNames()).toEqual(numbered(1, 4));
  });

  it('delivers on a 200 whose body never ends: the body is cancelled, not waited for', async () => {
    let cancelled = false;
    const endless = () => new Response(new ReadableStream({ start() {}, cancel: () => void (cancelled = true) }), { status: 200 });
    const { tracker, collector } = await startWithCollector(inTurn(endless));
    tracker.track('e1');

    const stats = await tracker.flush();

    expect(stats).toMatchObject({ delivered: 1, queued: 0, retried: 0 });
    expect(collector.acceptedNames()).toEqual(['e1']);
    expect(cancelled).toBe(true);
  });

  it('sends again, with the same messageIds, a request that timed out after reaching the collector', async () => {
    const { tracker, collector } = await startWithCollector(inTurn(hangUntilAborted));
    trackNumbered(tracker, 1, 2);
    void tracker.flush();

    await elapse(TIMEOUT_MS);
    await elapse(FIRST_BACKOFF_MS);
    await tracker.flush();

    const ids = collector.requests.map((request) => request.events.map((event) => event.messageId));
    expect(ids.slice(1).flat()).toEqual(ids[0]);
    expect(collector.acceptedNames()).toEqual(numbered(1, 2));
  });
});

describe('connections that fail', () => {
  const refused = () => {
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }) });
  };
  const corsFailure = () => {
    throw new TypeError('Failed to fetch');
  };

  it.each([
    ['connection refused', refused, 'fetch failed'],
    ['a CORS failure', corsFailure, 'Failed to fetch'],
  ])('retries after %s, as a network error, with the same messageId', async (_what, failure, message) => {
    const { tracker, collector, retries } = await startWithCollector(inTurn(failure));
    tracker.track('e1');
    await tracker.flush();

    expect(retries).toEqual([expect.objectContaining({ attempt: 1, reason: expect.stringContaining(`network error (TypeError: ${message})`) })]);
    expect(tracker.stats()).toMatchObject({ queued: 1, retried: 1, health: 'degraded' });
    await elapse(FIRST_BACKOFF_MS);

    expect(collector.requests.map((request) => request.answer)).toEqual(['network error', 200]);
    expect(collector.requests[1]!.events[0]!.messageId).toBe(collector.requests[0]!.events[0]!.messageId);
    expect(tracker.stats()).toMatchObject({ queued: 0, delivered: 1, health: 'healthy' });
  });

  it('gives up after maxAttempts while the collector stays unreachable, counting and reporting it', async () => {
    const { tracker, collector, dropped, errors } = await startWithCollector(corsFailure, { maxAttempts: 3 });
    tracker.track('e1');
    await tracker.flush();

    await elapse(60_000);
    await elapse(60_000);

    expect(collector.requests).toHaveLength(3);
    expect(tracker.stats()).toMatchObject({ queued: 0, dropped: 1, droppedBy: { attempts: 1 } });
    expect(dropped).toEqual([expect.objectContaining({ reason: 'attempts', message: expect.stringContaining('Failed to fetch') })]);
    expect(errors.map((error) => error.code)).toEqual(['gave_up']);
  });

  it('retries after a fetch that throws before it returns a promise', async () => {
    const collector = createFakeCollector();
    let calls = 0;
    const fetch = ((input, init) => {
      if (calls++ === 0) throw new TypeError('Failed to fetch');
      return collector.fetch(input, init);
    }) as typeof globalThis.fetch;
    const { tracker, retries } = createTestTracker({ transport: 'fetch', fetch, timeout: TIMEOUT_MS });
    await settle();
    tracker.track('e1');
    await tracker.flush();

    expect(retries).toEqual([expect.objectContaining({ reason: expect.stringContaining('Failed to fetch') })]);
    await elapse(FIRST_BACKOFF_MS);
    expect(collector.acceptedNames()).toEqual(['e1']);
    expect(tracker.stats()).toMatchObject({ queued: 0, delivered: 1, retried: 1 });
  });

  it('retries when fetch resolves to something that is not a Response', async () => {
    const { tracker, collector, retries } = await startWithCollector(inTurn(() => undefined, () => ({})));
    tracker.track('e1');
    await tracker.flush();

    await elapse(FIRST_BACKOFF_MS);
    await elapse(2 * FIRST_BACKOFF_MS);

    expect(retries).toHaveLength(2);
    expect(collector.acceptedNames()).toEqual(['e1']);
    expect(tracker.stats()).toMatchObject({ queued: 0, delivered: 1, dropped: 0 });
  });
});

describe('redirects and bodies', () => {
  it('delivers a 200 reached through redirects', async () => {
    const redirected = () => Object.defineProperties(status(200), { redirected: { value: true }, url: { value: 'https://collector.example/v2/batch' } });
    const { tracker, collector } = await startWithCollector(redirected);
    tracker.track('e1');

    const stats = await tracker.flush();

    expect(stats).toMatchObject({ delivered: 1, queued: 0, retried: 0 });
    expect(collector.acceptedNames()).toEqual(['e1']);
  });

  it('retries an opaque redirect (status 0): the collector never said it had the events', async () => {
    const { tracker, collector, retries } = await startWithCollector(inTurn(() => unusualResponse(0, 'opaqueredirect')));
    tracker.track('e1');
    await tracker.flush();

    expect(retries).toEqual([expect.objectContaining({ reason: 'HTTP 0' })]);
    expect(tracker.stats()).toMatchObject({ delivered: 0, queued: 1, retried: 1 });
    await elapse(FIRST_BACKOFF_MS);
    expect(collector.acceptedNames()).toEqual(['e1']);
  });

  it('delivers on a 200 with a garbage body, which it never parses', async () => {
    const garbage = () =>
      Object.assign(new Response('<html>502 Bad Gateway</html> {"not": json', { status: 200, headers: { 'Content-Type': 'application/json' } }), {
        json: () => Promise.reject(new SyntaxError('parsed the body')),
        text: () => Promise.reject(new Error('read the body')),
      });
    const { tracker, collector, errors } = await startWithCollector(garbage);
    tracker.track('e1');

    const stats = await tracker.flush();

    expect(stats).toMatchObject({ delivered: 1, queued: 0, retried: 0 });
    expect(collector.acceptedNames()).toEqual(['e1']);
    expect(errors).toEqual([]);
  });
});

describe("every status lands in its row of design.md's table", () => {
  const delivered = [200, 201, 202, 204, 299];
  const permanent = [400, 401, 403, 404, 410, 422, 405, 409, 451];
  const retryable = [408, 429, 500, 501, 502, 503, 504, 599];
  const redirects = [300, 301, 302, 303, 304, 307, 308];
  /** Statuses `new Response()` refuses to make, which a broken runtime or proxy could still hand over. */
  const unusual = [0, 100, 101, 103, 199, 600, 999];
  const answering = (code: number) => () => (code >= 200 && code <= 599 ? status(code) : unusualResponse(code));

  it.each(delivered)('%i: delivered, removed from the queue', async (code) => {
    const { tracker, delivered: deliveredEvents, retries } = await startWithCollector(answering(code));
    trackNumbered(tracker, 1, 2);

    const stats = await tracker.flush();

    expect(stats).toMatchObject({ delivered: 2, queued: 0, retried: 0, dropped: 0 });
    expect(deliveredEvents.flatMap(({ events }) => events.map((event) => event.event))).toEqual(numbered(1, 2));
    expect(retries).toEqual([]);
  });

  it.each(permanent)('%i: permanent, the batch dropped, counted as rejected and reported', async (code) => {
    const { tracker, collector, dropped, errors } = await startWithCollector(inTurn(answering(code)));
    trackNumbered(tracker, 1, 2);
    await tracker.flush();

    await elapse(60_000);

    expect(collector.requests).toHaveLength(1);
    expect(tracker.stats()).toMatchObject({ delivered: 0, queued: 0, retried: 0, droppedBy: { rejected: 2 } });
    expect(dropped).toEqual([expect.objectContaining({ reason: 'rejected', message: expect.stringContaining(`HTTP ${code}`) })]);
    expect(errors.map((error) => error.code)).toEqual(['rejected']);
  });

  it('413: the batch sent again in bodies under half the size refused, and an event refused alone dropped as too large', async () => {
    const refusesBig = (request: { names: string[] }) => (request.names.includes('big') ? status(413) : status(200));
    const { tracker, collector, dropped } = await startWithCollector(refusesBig);
    for (const name of ['e1', 'big', 'e2']) tracker.track(name);

    const stats = await tracker.flush();

    expect(collector.batches()).toEqual([['e1', 'big', 'e2'], ['e1'], ['big'], ['e2']]);
    expect(stats).toMatchObject({ delivered: 2, queued: 0, retried: 0, droppedBy: { tooLarge: 1 } });
    expect(dropped).toEqual([expect.objectContaining({ reason: 'tooLarge' })]);
  });

  it.each([...retryable, ...redirects, ...unusual])('%i: retryable, back in front of the queue and sent again after the backoff', async (code) => {
    const { tracker, collector, retries } = await startWithCollector(inTurn(answering(code)), { batchSize: 2 });
    trackNumbered(tracker, 1, 2);
    await settle();
    tracker.track('e3');

    expect(retries).toEqual([expect.objectContaining({ attempt: 1, reason: `HTTP ${code}` })]);
    expect(tracker.stats()).toMatchObject({ queued: 3, retried: 2, dropped: 0, health: 'degraded' });
    await elapse(FIRST_BACKOFF_MS);
    await tracker.flush();

    expect(collector.batches()).toEqual([numbered(1, 2), ['e1'], ['e2', 'e3']]);
    expect(collector.acceptedNames()).toEqual(numbered(1, 3));
    expect(tracker.stats()).toMatchObject({ queued: 0, delivered: 3, health: 'healthy' });
  });

  it('429 with Retry-After in seconds: nothing sent before then', async () => {
    const { tracker, collector } = await startWithCollector(inTurn(() => status(429, { 'Retry-After': '30' })));
    tracker.track('e1');
    await tracker.flush();

    await elapse(29_999);
    await tracker.flush();
    expect(collector.requests).toHaveLength(1);
    await elapse(1);

    expect(collector.acceptedNames()).toEqual(['e1']);
  });

  it('503 with Retry-After as an HTTP date: nothing sent before then', async () => {
    const { tracker, collector } = await startWithCollector(inTurn(() => status(503, { 'Retry-After': new Date(Date.now() + 90_000).toUTCString() })));
    tracker.track('e1');
    await tracker.flush();

    await elapse(89_999);
    expect(collector.requests).toHaveLength(1);
    await elapse(1);

    expect(collector.acceptedNames()).toEqual(['e1']);
  });

  it('a Retry-After that is not a time is ignored for the usual backoff', async () => {
    const { tracker, collector, retries } = await startWithCollector(inTurn(() => status(503, { 'Retry-After': 'soon, maybe' })));
    tracker.track('e1');
    await tracker.flush();

    await elapse(FIRST_BACKOFF_MS);

    expect(retries).toEqual([expect.objectContaining({ delayMs: FIRST_BACKOFF_MS })]);
    expect(collector.acceptedNames()).toEqual(['e1']);
  });

  it('offline: no attempt at all until the online event', async () => {
    const window = stubWindowEvents();
    const navigator = stubNavigator(false);
    const { tracker, collector, retries } = await startWithCollector(ok, { maxAttempts: 1 });
    tracker.track('e1');

    await tracker.flush();
    await elapse(60_000);
    expect(collector.requests).toEqual([]);

    navigator.onLine = true;
    window.dispatchEvent(new Event('online'));
    await settle();

    expect(collector.acceptedNames()).toEqual(['e1']);
    expect(retries).toEqual([]);
    expect(tracker.stats()).toMatchObject({ delivered: 1, dropped: 0, requests: 1 });
  });
});
