import { describe, expectTypeOf, it } from 'vitest';
import {
  createMemoryStore,
  createTracker,
  VERSION,
  type DropReason,
  type ErrorCode,
  type EventStore,
  type Health,
  type HomingError,
  type HomingEvent,
  type SendResult,
  type StoreKind,
  type Tracker,
  type TrackerOptions,
  type TrackerStats,
  type Transport,
} from '../src/index';

declare const tracker: Tracker;

describe('createTracker', () => {
  it('takes options with a required endpoint and returns a Tracker', () => {
    expectTypeOf(createTracker).parameter(0).toEqualTypeOf<TrackerOptions>();
    expectTypeOf(createTracker({ endpoint: '/collect' })).toEqualTypeOf<Tracker>();
    // @ts-expect-error the endpoint is required
    createTracker({});
    // @ts-expect-error options are required
    createTracker();
  });

  it('types every option', () => {
    createTracker({
      endpoint: '/collect',
      writeKey: 'wk',
      store: 'auto',
      storageKey: 'homing',
      maxQueueSize: 1000,
      batchSize: 50,
      maxBatchBytes: 61_440,
      flushInterval: 5_000,
      maxAttempts: 20,
      timeout: 10_000,
      transport: 'fetch',
      fetch: globalThis.fetch,
      clock: { now: Date.now, setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: () => {} },
      random: Math.random,
      debug: true,
    });
    // @ts-expect-error batchSize is a number
    createTracker({ endpoint: '/collect', batchSize: '50' });
    // @ts-expect-error store is one of the known kinds or an EventStore
    createTracker({ endpoint: '/collect', store: 'floppy' });
    // @ts-expect-error transport is one of the known kinds or a Transport
    createTracker({ endpoint: '/collect', transport: 'pigeon' });
    // @ts-expect-error random returns a number
    createTracker({ endpoint: '/collect', random: () => 'four' });
  });

  it('accepts a custom EventStore and Transport', () => {
    const store: EventStore = { kind: 'custom', load: async () => ({ events: [], invalid: 0 }), write: async () => {} };
    const transport: Transport = { name: 'test', send: async (): Promise<SendResult> => ({ kind: 'delivered', status: 200 }) };

    createTracker({ endpoint: '/collect', store, transport });
    createTracker({ endpoint: '/collect', store: createMemoryStore() });
    // @ts-expect-error a transport answers with a SendResult
    createTracker({ endpoint: '/collect', transport: { name: 'bad', send: async () => ({ kind: 'maybe' }) } });
  });
});

describe('the tracker', () => {
  it('tracks an event by name with optional properties', () => {
    tracker.track('Signed Up');
    tracker.track('Signed Up', { plan: 'pro', seats: 3 });
    expectTypeOf(tracker.track).parameter(0).toEqualTypeOf<string>();
    // @ts-expect-error the event name is a string
    tracker.track(42);
    // @ts-expect-error the event name is required
    tracker.track();
  });

  it('records pages with an optional name, and identifies users by a string id', () => {
    expectTypeOf(tracker.page).toEqualTypeOf<(name?: string, properties?: Record<string, unknown>) => void>();
    expectTypeOf(tracker.identify).toEqualTypeOf<(userId: string, traits?: Record<string, unknown>) => void>();
    // @ts-expect-error identify needs a user id
    tracker.identify();
  });

  it('flushes to stats, and shuts down to nothing', () => {
    expectTypeOf(tracker.flush).returns.toEqualTypeOf<Promise<TrackerStats>>();
    expectTypeOf(tracker.shutdown).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(tracker.reset).toEqualTypeOf<() => void>();
    expectTypeOf(tracker.stats).returns.toEqualTypeOf<TrackerStats>();
  });
});

describe('typed events', () => {
  type Events = {
    'Signed Up': { plan: 'free' | 'pro'; seats?: number };
    'Page Scrolled': { depth?: number };
  };
  const typed = createTracker<Events>({ endpoint: '/collect' });

  it('type-checks the properties of each event it knows', () => {
    typed.track('Signed Up', { plan: 'pro' });
    typed.track('Signed Up', { plan: 'free', seats: 2 });
    typed.track('Page Scrolled');
  });

  it('rejects a wrong property, a missing one, and an unknown event', () => {
    // @ts-expect-error plan is 'free' or 'pro'
    typed.track('Signed Up', { plan: 'enterprise' });
    // @ts-expect-error seats is a number
    typed.track('Signed Up', { plan: 'pro', seats: 'two' });
    // @ts-expect-error plan is required, so the properties are too
    typed.track('Signed Up');
    // @ts-expect-error no such event in the plan
    typed.track('Signed Out', {});
  });

  it('works with an interface as the tracking plan too', () => {
    interface Plan {
      'Video Played': { id: string };
    }
    const planned = createTracker<Plan>({ endpoint: '/collect' });
    planned.track('Video Played', { id: 'v1' });
    // @ts-expect-error id is required
    planned.track('Video Played', {});
  });
});

describe('on()', () => {
  it('types each event payload', () => {
    tracker.on('queued', (event) => expectTypeOf(event).toEqualTypeOf<HomingEvent>());
    tracker.on('track', (event) => expectTypeOf(event).toEqualTypeOf<HomingEvent>());
    tracker.on('delivered', (payload) => expectTypeOf(payload).toEqualTypeOf<{ events: HomingEvent[] }>());
    tracker.on('handedOff', (payload) => expectTypeOf(payload).toEqualTypeOf<{ events: HomingEvent[] }>());
    // The message is the debug build's sentence; production payloads carry the reason only.
    tracker.on('dropped', (payload) => expectTypeOf(payload).toEqualTypeOf<{ reason: DropReason; events: HomingEvent[]; message?: string }>());
    tracker.on('retry', (payload) => expectTypeOf(payload).toEqualTypeOf<{ events: HomingEvent[]; attempt: number; delayMs: number; status?: number; reason: string }>());
    tracker.on('error', (error) => {
      expectTypeOf(error).toEqualTypeOf<HomingError>();
      expectTypeOf(error).toMatchTypeOf<Error>();
      expectTypeOf(error.code).toEqualTypeOf<ErrorCode>();
    });
  });

  it('returns the function that unsubscribes', () => {
    expectTypeOf(tracker.on('error', () => {})).toEqualTypeOf<() => void>();
  });

  it('knows only the events the tracker emits', () => {
    // @ts-expect-error a misspelt event name
    tracker.on('eror', () => {});
    // @ts-expect-error a listener for the wrong payload
    tracker.on('error', (payload: { events: HomingEvent[] }) => payload);
  });

  it('names every error code', () => {
    expectTypeOf<ErrorCode>().toEqualTypeOf<
      | 'invalid_option'
      | 'invalid_event'
      | 'invalid_property'
      | 'event_too_large'
      | 'queue_overflow'
      | 'rejected'
      | 'gave_up'
      | 'store_fallback'
      | 'store_error'
      | 'store_corrupt'
      | 'shut_down'
      | 'plugin_error'
      | 'internal'
    >();
  });
});

describe('stats()', () => {
  it('has this shape', () => {
    expectTypeOf<TrackerStats>().toEqualTypeOf<{
      queued: number;
      inFlight: number;
      received: number;
      sent: number;
      delivered: number;
      handedOff: number;
      retried: number;
      dropped: number;
      droppedBy: Record<DropReason, number>;
      requests: number;
      bytesSent: number;
      filtered: number;
      store: StoreKind;
      health: Health;
    }>();
  });

  it('counts drops by these reasons', () => {
    expectTypeOf<DropReason>().toEqualTypeOf<'overflow' | 'rejected' | 'attempts' | 'invalid' | 'tooLarge'>();
    expectTypeOf<Health>().toEqualTypeOf<'healthy' | 'degraded' | 'failing'>();
    expectTypeOf<StoreKind>().toEqualTypeOf<'indexeddb' | 'localstorage' | 'memory' | 'file' | 'custom'>();
  });
});

describe('VERSION', () => {
  it('is a string', () => {
    expectTypeOf(VERSION).toEqualTypeOf<string>();
  });
});
