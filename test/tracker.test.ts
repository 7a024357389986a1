import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HomingEvent } from '../src/capture/event';
import { batchSchema, eventSchema } from '../src/schema';
import { createTracker, type Tracker } from '../src/tracker';
import { VERSION } from '../src/version';
import { FIRST_BATCH_DELAY_MS } from '../src/delivery/sender';
import { createLocalStorageStub } from './support/local-storage-stub';
import { answersInTurn, createRecordingTransport } from './support/recording-transport';
import { elapse, settle, useFakeTime } from './support/time';
import { createTestTracker, numbered, shutDownTestTrackers, startTestTracker, trackNumbered } from './support/tracker-harness';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const START = Date.UTC(2030, 0, 1, 9, 30);

/** The events as the tracker queued them, before any JSON round trip. */
function queuedEvents(tracker: Tracker): HomingEvent[] {
  const events: HomingEvent[] = [];
  tracker.on('queued', (event) => events.push(event));
  return events;
}

beforeEach(() => {
  useFakeTime(START);
  vi.stubGlobal('localStorage', createLocalStorageStub());
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});

afterEach(async () => {
  await shutDownTestTrackers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('the wire format', () => {
  it('sends Segment-spec batches that the schema accepts, for track, page and identify', async () => {
    const { tracker, requests } = await startTestTracker({ writeKey: 'wk_123' });
    tracker.track('Signed Up', { plan: 'pro', seats: 3, trial: false, tags: ['a'], meta: { nested: null } });
    tracker.page('Pricing', { section: 'teams' });
    tracker.identify('user-1', { email: 'ada@example.com' });

    await tracker.flush();

    expect(requests).toHaveLength(1);
    const body = batchSchema.parse(JSON.parse(requests[0]!.body));
    expect(body.writeKey).toBe('wk_123');
    const [track, page, identify] = body.batch;
    expect(track).toMatchObject({ type: 'track', event: 'Signed Up', properties: { plan: 'pro', seats: 3, trial: false, tags: ['a'], meta: { nested: null } } });
    expect(page).toMatchObject({ type: 'page', name: 'Pricing', properties: { section: 'teams' } });
    expect(identify).toMatchObject({ type: 'identify', userId: 'user-1', traits: { email: 'ada@example.com' } });
    for (const event of body.batch) expect(eventSchema.safeParse(event).success).toBe(true);
  });

  it('describes the library and the session in every event context', async () => {
    const { tracker, requests } = await startTestTracker();
    trackNumbered(tracker, 1, 2);

    await tracker.flush();

    const [first, second] = requests[0]!.payload.batch;
    expect(first!.context).toMatchObject({ library: { name: 'homing', version: VERSION }, timezone: expect.any(String), sessionId: expect.stringMatching(UUID_V4) });
    expect(second!.context.sessionId).toBe(first!.context.sessionId);
  });

  it('gives every event its own uuid v4 messageId', async () => {
    const { tracker, requests } = await startTestTracker();
    trackNumbered(tracker, 1, 20);

    await tracker.flush();

    const ids = requests.flatMap((request) => request.payload.batch.map((event) => event.messageId));
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(20);
  });

  it('keeps the messageId of an event that is sent again after a failure', async () => {
    const { tracker, requests } = await startTestTracker({ answer: answersInTurn({ kind: 'retry', status: 503 }) });
    tracker.track('e1');
    await tracker.flush();

    await elapse(500);

    expect(requests).toHaveLength(2);
    expect(requests[1]!.payload.batch[0]!.messageId).toBe(requests[0]!.payload.batch[0]!.messageId);
  });

  it('stamps each event with when it was tracked and each request with when it was sent', async () => {
    const { tracker, requests } = await startTestTracker({ answer: answersInTurn({ kind: 'retry', status: 503 }) });
    const trackedAt = Date.now();
    tracker.track('e1');

    // A page's first batch leaves within FIRST_BATCH_DELAY_MS; then the backoff (500 ms with random 0.5).
    await elapse(FIRST_BATCH_DELAY_MS);
    await elapse(500);

    const [first, second] = requests;
    expect(first!.payload.batch[0]!.timestamp).toBe(new Date(trackedAt).toISOString());
    expect(first!.payload.sentAt).toBe(new Date(trackedAt + FIRST_BATCH_DELAY_MS).toISOString());
    expect(second!.payload.sentAt).toBe(new Date(trackedAt + FIRST_BATCH_DELAY_MS + 500).toISOString());
    expect(second!.payload.batch[0]!.timestamp).toBe(first!.payload.batch[0]!.timestamp);
  });
});

describe('identity', () => {
  it('keeps the anonymousId across trackers on the same localStorage: across page loads', async () => {
    const first = await startTestTracker();
    first.tracker.track('e1');
    await first.tracker.flush();
    const second = await startTestTracker();
    second.tracker.track('e2');
    await second.tracker.flush();

    const anonymousId = first.requests[0]!.payload.batch[0]!.anonymousId;
    expect(anonymousId).toMatch(UUID_V4);
    expect(second.requests[0]!.payload.batch[0]!.anonymousId).toBe(anonymousId);
  });

  it('puts the userId from identify() on the identify event and every later one', async () => {
    const { tracker, requests } = await startTestTracker();
    tracker.track('before');
    tracker.identify('user-7', { plan: 'pro' });
    tracker.track('after');

    await tracker.flush();

    expect(requests[0]!.payload.batch.map((event) => event.userId)).toEqual([undefined, 'user-7', 'user-7']);
  });

  it('remembers the userId on the next page load', async () => {
    const first = await startTestTracker();
    first.tracker.identify('user-7');
    const second = await startTestTracker();
    second.tracker.track('e1');

    await second.tracker.flush();

    expect(second.requests[0]!.payload.batch[0]!.userId).toBe('user-7');
  });

  it('forgets the user on reset(): a new anonymousId, a new session and no userId', async () => {
    const { tracker, requests } = await startTestTracker();
    tracker.identify('user-7');
    tracker.track('before');
    tracker.reset();
    tracker.track('after');

    await tracker.flush();

    const [, before, after] = requests[0]!.payload.batch;
    expect(after!.userId).toBeUndefined();
    expect(after!.anonymousId).toMatch(UUID_V4);
    expect(after!.anonymousId).not.toBe(before!.anonymousId);
    expect(after!.context.sessionId).not.toBe(before!.context.sessionId);
  });

  it('keeps the reset identity on the next page load', async () => {
    const first = await startTestTracker();
    first.tracker.identify('user-7');
    first.tracker.reset();
    first.tracker.track('e1');
    await first.tracker.flush();
    const second = await startTestTracker();
    second.tracker.track('e2');

    await second.tracker.flush();

    const afterReset = first.requests[0]!.payload.batch.at(-1)!;
    const nextPageLoad = second.requests[0]!.payload.batch[0]!;
    expect(nextPageLoad.userId).toBeUndefined();
    expect(nextPageLoad.anonymousId).toBe(afterReset.anonymousId);
  });

  it('starts a new session after 30 minutes without events', async () => {
    const { tracker, requests } = await startTestTracker();
    tracker.track('e1');
    await tracker.flush();

    await elapse(31 * 60_000);
    tracker.track('e2');
    await tracker.flush();

    expect(requests[1]!.payload.batch[0]!.context.sessionId).not.toBe(requests[0]!.payload.batch[0]!.context.sessionId);
  });
});

describe('properties', () => {
  const circular = () => {
    const node: Record<string, unknown> = { name: 'node' };
    node.self = node;
    return node;
  };

  const cases: Array<[what: string, value: () => unknown, sent: unknown, repaired: boolean]> = [
    ['a circular reference', circular, { name: 'node', self: '[Circular]' }, true],
    ['a BigInt', () => 10n, '10', true],
    ['a function', () => () => 1, undefined, true],
    ['a Symbol', () => Symbol('s'), undefined, true],
    ['undefined', () => undefined, undefined, false],
    ['NaN', () => NaN, null, true],
    ['Infinity', () => -Infinity, null, true],
    ['a Date', () => new Date(START), new Date(START).toISOString(), false],
    ['an invalid Date', () => new Date(NaN), null, false],
    ['a Map', () => new Map<unknown, unknown>([['a', 1], [2, 'b']]), { a: 1, 2: 'b' }, false],
    ['a Set', () => new Set([1, 'two']), [1, 'two'], false],
    ['a typed array', () => new Uint8Array([1, 2]), [1, 2], false],
    ['an array holding a function', () => [1, () => 2], [1, null], true],
  ];

  it.each(cases)('sends %s as JSON without throwing', async (_what, value, sent, repaired) => {
    const { tracker, errors } = await startTestTracker();
    const events = queuedEvents(tracker);

    tracker.track('Case', { value: value(), kept: 'yes' });
    await settle();

    const properties = events[0]!.properties!;
    expect(properties.value).toEqual(sent);
    if (sent === undefined) expect(properties).not.toHaveProperty('value');
    expect(properties.kept).toBe('yes');
    expect(JSON.parse(JSON.stringify(properties))).toEqual(properties);
    const reported = errors.filter((error) => error.code === 'invalid_property');
    if (repaired) expect(reported).toEqual([expect.objectContaining({ message: expect.stringContaining('properties.value') })]);
    else expect(reported).toEqual([]);
  });

  it('sends -0 as 0', async () => {
    const { tracker } = await startTestTracker();
    const events = queuedEvents(tracker);

    tracker.track('Case', { value: -0 });
    await settle();

    expect(Object.is(events[0]!.properties!.value, 0)).toBe(true);
  });

  it('keeps a "__proto__" key as data, polluting no prototype', async () => {
    const { tracker, requests } = await startTestTracker();
    const events = queuedEvents(tracker);

    tracker.track('Case', JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'));
    await tracker.flush();

    const properties = events[0]!.properties!;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(properties)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(properties, '__proto__')?.value).toEqual({ polluted: true });
    expect(requests[0]!.body).toContain('"__proto__":{"polluted":true}');
  });

  it('replaces properties that are not an object by {}, and says so', async () => {
    const { tracker, errors } = await startTestTracker();
    const events = queuedEvents(tracker);

    tracker.track('Case', 'not an object' as unknown as Record<string, unknown>);
    await settle();

    expect(events[0]!.properties).toEqual({});
    expect(errors).toEqual([expect.objectContaining({ code: 'invalid_property', message: expect.stringContaining('expected an object') })]);
  });

  it('drops a property whose getter throws, and says so', async () => {
    const { tracker, errors } = await startTestTracker();
    const events = queuedEvents(tracker);
    const hostile = {
      ok: 1,
      get broken(): never {
        throw new Error('no access');
      },
    };

    tracker.track('Case', hostile);
    await settle();

    expect(events[0]!.properties).toEqual({ ok: 1 });
    expect(errors).toEqual([expect.objectContaining({ code: 'invalid_property', message: expect.stringContaining('no access') })]);
  });
});

describe('bad input', () => {
  it.each([
    ['an empty name', ''],
    ['a blank name', '   '],
    ['a number', 42],
    ['nothing', undefined],
    ['a name over 200 characters', 'x'.repeat(201)],
  ])('reports and drops a track() with %s, and sends the other events', async (_what, name) => {
    const { tracker, batches, errors } = await startTestTracker();

    tracker.track('before');
    tracker.track(name as string);
    tracker.track('after');
    await tracker.flush();

    expect(batches()).toEqual([['before', 'after']]);
    expect(errors.map((error) => error.code)).toEqual(['invalid_event']);
    expect(tracker.stats().droppedBy.invalid).toBe(1);
  });

  it('reports and drops an identify() without a userId', async () => {
    const { tracker, batches, errors } = await startTestTracker();

    tracker.identify('' as string);
    tracker.identify(undefined as unknown as string);
    tracker.track('after');
    await tracker.flush();

    expect(batches()).toEqual([['after']]);
    expect(errors.map((error) => error.code)).toEqual(['invalid_event', 'invalid_event']);
  });

  it('drops an event over 32 KB that no cut string brings under the limit, and reports it', async () => {
    const { tracker, batches, errors } = await startTestTracker();

    // Four thousand keys weigh more than 32 KB even with every string cut to nothing.
    tracker.track('Huge', Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`key${i}`, 'x'.repeat(8)])));
    tracker.track('after');
    await tracker.flush();

    expect(batches()).toEqual([['after']]);
    expect(tracker.stats()).toMatchObject({ received: 1, droppedBy: { tooLarge: 1 } });
    expect(errors).toEqual([expect.objectContaining({ code: 'event_too_large', message: expect.stringContaining('Huge') })]);
  });
});

describe('options', () => {
  it('reports an invalid option by name, and uses its default', async () => {
    const { tracker, requests, errors } = createTestTracker({ batchSize: -1 });
    await settle();

    expect(errors).toEqual([expect.objectContaining({ code: 'invalid_option', message: expect.stringContaining('batchSize') })]);
    expect(errors[0]!.message).toContain('using 50');
    trackNumbered(tracker, 1, 50);
    await settle();
    expect(requests.map((request) => request.names)).toEqual([numbered(1, 50)]);
  });

  it('reports a flushInterval that is not a number, and waits the default five seconds', async () => {
    const { tracker, batches, errors } = createTestTracker({ flushInterval: 'soon' as unknown as number });
    await settle();
    tracker.track('e0');
    await tracker.flush();
    // The page's first batch went; the next one waits the interval.
    tracker.track('e1');

    await elapse(4_999);
    expect(batches()).toEqual([['e0']]);
    await elapse(1);

    expect(batches()).toEqual([['e0'], ['e1']]);
    expect(errors).toEqual([expect.objectContaining({ code: 'invalid_option', message: expect.stringContaining('flushInterval') })]);
  });

  it('reports every invalid option, each by name', async () => {
    const { errors } = createTestTracker({ maxQueueSize: 0, timeout: 1.5, store: 'floppy' as 'memory', random: 0.5 as unknown as () => number });
    await settle();

    expect(errors.map((error) => error.message.split(' ')[0])).toEqual(expect.arrayContaining(['maxQueueSize', 'timeout', 'store', 'random']));
    expect(errors.every((error) => error.code === 'invalid_option')).toBe(true);
  });

  it('gives a disabled tracker that never throws and sends nothing when the endpoint is missing', async () => {
    const fetch = vi.fn<typeof globalThis.fetch>();
    const tracker = createTracker({ fetch } as unknown as { endpoint: string });
    const errors: Error[] = [];
    tracker.on('error', (error) => errors.push(error));

    tracker.track('e1');
    tracker.page();
    tracker.identify('user-1');
    tracker.reset();
    const stats = await tracker.flush();
    await tracker.shutdown();

    expect(fetch).not.toHaveBeenCalled();
    expect(stats).toMatchObject({ received: 0, health: 'failing' });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'invalid_option', message: expect.stringContaining('endpoint') }));
    expect(console.warn).toHaveBeenCalledWith(expect.stringContaining('endpoint'));
  });
});

describe('never breaking the host page', () => {
  const hostileProxy = () =>
    new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
  const garbage: Array<[string, () => unknown]> = [
    ['undefined', () => undefined],
    ['null', () => null],
    ['NaN', () => NaN],
    ['an empty string', () => ''],
    ['an array', () => [1, 2]],
    ['a function', () => () => {}],
    ['a Symbol', () => Symbol('x')],
    ['a BigInt', () => 10n],
    ['an object without a prototype', () => Object.create(null)],
    ['"constructor"', () => 'constructor'],
    ['"__proto__"', () => '__proto__'],
    ['a Proxy that throws on every access', hostileProxy],
  ];

  it.each(garbage)('throws from no public method given %s', async (_what, value) => {
    const { tracker } = await startTestTracker();
    const api = tracker as unknown as Record<string, (...args: unknown[]) => unknown>;
    const g = value();

    for (const [method, args] of [
      ['track', [g]],
      ['track', ['ok', g]],
      ['page', [g, g]],
      ['identify', [g, g]],
      ['on', [g, g]],
      ['on', ['error', g]],
      ['reset', [g]],
      ['stats', [g]],
    ] as const) {
      expect(() => api[method]!(...args), `${method}(${args.length} args)`).not.toThrow();
    }
    await expect(tracker.flush()).resolves.toBeDefined();
    await expect(tracker.shutdown()).resolves.toBeUndefined();
  });

  it.each(garbage)('creates a tracker, without throwing, from options that are %s', (_what, value) => {
    let tracker: Tracker | undefined;

    expect(() => (tracker = createTracker(value() as { endpoint: string }))).not.toThrow();
    expect(() => tracker!.track('e1')).not.toThrow();
  });

  it('keeps tracking when a listener throws', async () => {
    const { tracker, batches } = await startTestTracker({ batchSize: 2 });
    for (const name of ['queued', 'delivered', 'error', 'dropped'] as const) {
      tracker.on(name, () => {
        throw new Error(`${name} listener broke`);
      });
    }

    tracker.track('');
    trackNumbered(tracker, 1, 3);
    await tracker.flush();

    expect(batches()).toEqual([numbered(1, 2), ['e3']]);
    expect(tracker.stats().delivered).toBe(3);
  });

  it('stops calling a listener once it unsubscribed', async () => {
    const { tracker } = await startTestTracker();
    const listener = vi.fn();
    const unsubscribe = tracker.on('queued', listener);

    tracker.track('e1');
    await settle();
    unsubscribe();
    tracker.track('e2');
    await settle();

    expect(listener).toHaveBeenCalledOnce();
  });
});

describe('importing homing', () => {
  const BROWSER_GLOBALS = ['window', 'document', 'navigator', 'location', 'localStorage', 'indexedDB', 'addEventListener', 'self'];

  it('touches no browser global at import time, and a tracker then works in Node on the memory store', async () => {
    vi.unstubAllGlobals();
    const touched: string[] = [];
    const saved = BROWSER_GLOBALS.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)] as const);
    for (const name of BROWSER_GLOBALS) {
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get: () => void touched.push(name),
      });
    }
    vi.resetModules();
    let homing: typeof import('../src/index');
    try {
      homing = await import('../src/index');
    } finally {
      for (const [name, descriptor] of saved) {
        if (descriptor) Object.defineProperty(globalThis, name, descriptor);
        else delete (globalThis as Record<string, unknown>)[name];
      }
    }
    expect(touched).toEqual([]);

    const { transport, batches } = createRecordingTransport();
    const tracker = homing.createTracker({ endpoint: '/collect', store: 'memory', transport });
    tracker.track('e1');
    await tracker.shutdown();
    expect(batches()).toEqual([['e1']]);
    expect(tracker.stats().store).toBe('memory');
  });
});

describe('page context in a burst', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('follows a URL changed mid-task (an SPA route), and gives each event its own page object', async () => {
    const location = { href: 'https://app.example/a', pathname: '/a' };
    vi.stubGlobal('location', location);
    vi.stubGlobal('document', { referrer: '', title: 'App', visibilityState: 'visible', addEventListener() {}, removeEventListener() {} });
    const { tracker, requests } = createTestTracker();
    const tapped: HomingEvent[] = [];
    tracker.on('track', (event) => tapped.push(event));

    tracker.track('Before');
    tracker.track('Also before');
    Object.assign(location, { href: 'https://app.example/b', pathname: '/b' });
    tracker.page('B');
    await tracker.flush();

    expect(tapped.map((event) => event.context.page?.path)).toEqual(['/a', '/a', '/b']);
    expect(tapped[0]!.context.page).not.toBe(tapped[1]!.context.page);
    expect(requests.length).toBeGreaterThan(0);
  });
});

describe('a burst larger than the queue', () => {
  it('tells every event as queued, keeps the newest, and reports the older ones dropped as overflow, in order, with the same messageIds', async () => {
    const { tracker, dropped } = createTestTracker({ maxQueueSize: 10 });
    const queued: HomingEvent[] = [];
    tracker.on('queued', (event) => queued.push(event));

    trackNumbered(tracker, 1, 25);

    expect(tracker.stats()).toMatchObject({ received: 25, queued: 10, droppedBy: { overflow: 15 } });
    expect(queued.map((event) => event.event)).toEqual(numbered(1, 25));
    const overflowed = dropped.flatMap(({ events }) => events);
    expect(overflowed.map((event) => event.event)).toEqual(numbered(1, 15));
    expect(overflowed.map((event) => event.messageId)).toEqual(queued.slice(0, 15).map((event) => event.messageId));
  });

  it('serializes only the events the queue has room for when no plugin could filter one out and nobody listens', async () => {
    const tracker = createTracker({ endpoint: '/collect', store: 'memory', transport: createRecordingTransport().transport, maxQueueSize: 10 });
    const stringify = vi.spyOn(JSON, 'stringify');

    trackNumbered(tracker, 1, 1_000);
    tracker.stats();

    expect(stringify.mock.calls.filter(([value]) => (value as HomingEvent | undefined)?.type === 'track')).toHaveLength(10);
    await tracker.shutdown();
  });

  it('gives every event to the plugins, in order, since they may filter some out', () => {
    const seen: string[] = [];
    const { tracker } = createTestTracker({ maxQueueSize: 10, plugins: [{ name: 'watch', enrich: (event) => (seen.push(event.event!), event) }] });

    trackNumbered(tracker, 1, 25);

    expect(tracker.stats()).toMatchObject({ queued: 10, droppedBy: { overflow: 15 } });
    expect(seen).toEqual(numbered(1, 25));
  });
});

describe('debug logging (the debug build)', () => {
  it('logs each event it tells, with debug: true, and nothing without', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const quiet = await startTestTracker();
    quiet.tracker.track('e1');
    await quiet.tracker.flush();
    expect(log).not.toHaveBeenCalled();

    const chatty = await startTestTracker({ debug: true });
    chatty.tracker.track('e2');
    await chatty.tracker.flush();
    const told = log.mock.calls.map(([text]) => text);
    expect(told).toEqual(expect.arrayContaining(['[homing] queued', '[homing] delivered']));
  });

  it('never throws when the page made console.log throw', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {
      throw new Error('console is gone');
    });
    const { tracker, delivered } = await startTestTracker({ debug: true });
    expect(() => tracker.track('e1')).not.toThrow();
    await tracker.flush();
    expect(delivered).toHaveLength(1);
  });
});
