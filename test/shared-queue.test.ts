/**
 * Several tabs, one queue: two queues (two tabs) on one store, as tabs of one origin share
 * IndexedDB or localStorage; then two trackers on one stubbed localStorage, where only the
 * holder of the sender lock sends and every event of both arrives once.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/clock';
import { createQueue, type Queue } from '../src/queue';
import { LEASE_MS } from '../src/sender-lock';
import type { EventStore } from '../src/store/event-store';
import { createIndexedDbStore } from '../src/store/indexeddb';
import { createMemoryStore } from '../src/store/memory';
import { createPageExitLog } from '../src/store/page-exit-log';
import { createTracker, type Tracker } from '../src/tracker';
import { eventNumbered, idsOf, storedEventNumbered } from './support/events';
import { stubWindowEvents } from './support/browser-stubs';
import { createFakeLocks } from './support/fake-locks';
import { createLocalStorageStub } from './support/local-storage-stub';
import { createRecordingTransport, neverAnswers, type Answer } from './support/recording-transport';
import { elapse, mortalClock, settle, useFakeTime } from './support/time';
import { numbered, trackNumbered } from './support/tracker-harness';

/** Room for every event in one batch. */
const ALL = 1_000;
/** How long a tab leases the batch it sends in these tests. */
const LEASE = 6_000;

/**
 * A memory store that, like IndexedDB and localStorage, keeps copies: without them two queues
 * in one process would share event objects and see each other's changes without the store.
 */
function createCopyingStore(): EventStore {
  const inner = createMemoryStore();
  return {
    kind: 'memory',
    load: async () => structuredClone(await inner.load()),
    write: (changes) => inner.write(structuredClone(changes)),
  };
}

const stores: Array<[string, () => () => EventStore]> = [
  ['a copying memory store', () => {
    const store = createCopyingStore();
    return () => store;
  }],
  ['IndexedDB (fake-indexeddb)', () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    // Each tab opens its own connection to the one database.
    return () => createIndexedDbStore('homing-shared-test');
  }],
];

describe.each(stores)('two tabs sharing %s', (_name, openSharedStore) => {
  let time: number;
  let a: Queue;
  let b: Queue;

  /** A tab's queue on the shared store, on the tabs' common clock; its removals reach the other tab as the BroadcastChannel would carry them. */
  const openTab = (store: EventStore, announce: (ids: string[]) => void) =>
    createQueue({ store, maxQueueSize: ALL, now: () => time, onWriteError: (error) => { throw error; }, onRemoved: announce });
  /** Tracks `e<n>` in `tab` at time `n`, so seq order is number order. */
  const trackIn = (tab: Queue, ...numbers: number[]) => {
    for (const n of numbers) {
      time = n;
      tab.enqueue(eventNumbered(n), 100);
    }
  };
  const waitingIn = (tab: Queue) => idsOf(tab.peekBatch(ALL, Infinity));
  const persistedBoth = () => Promise.all([a.persisted(), b.persisted()]);

  beforeEach(() => {
    time = 0;
    const open = openSharedStore();
    a = openTab(open(), (ids) => b.forget(ids));
    b = openTab(open(), (ids) => a.forget(ids));
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('merges the events the other tab queued in, in the order they were tracked', async () => {
    trackIn(a, 1);
    trackIn(b, 2);
    trackIn(a, 3);
    trackIn(b, 4);
    await persistedBoth();

    await a.refresh(true);
    await b.refresh(true);

    expect(waitingIn(a)).toEqual(numbered(1, 4));
    expect(waitingIn(b)).toEqual(numbered(1, 4));
  });

  it('forgets on refresh the events the other tab delivered', async () => {
    trackIn(a, 1, 2, 3);
    await a.persisted();
    await b.refresh(true);

    b.remove(b.takeBatch(2, Infinity, time + LEASE));
    await b.persisted();
    await a.refresh(true);

    expect(waitingIn(a)).toEqual(['e3']);
  });

  it('keeps, and writes again, what vanished from the store with no tab announcing a final answer (a wiped store)', async () => {
    const store = openSharedStore()();
    const lonely = openTab(store, () => {});
    trackIn(lonely, 1, 2);
    await lonely.persisted();
    await store.write({ put: [], remove: ['e1', 'e2'] });

    await lonely.refresh(true);
    await lonely.persisted();

    expect(waitingIn(lonely)).toEqual(['e1', 'e2']);
    expect(idsOf((await store.load()).events)).toEqual(['e1', 'e2']);
  });

  it('leaves a vanished event unwritten in a tab that is not the sender: the removal may just not be announced yet', async () => {
    const store = openSharedStore()();
    const follower = openTab(store, () => {});
    trackIn(follower, 1, 2);
    await follower.persisted();
    await store.write({ put: [], remove: ['e1'] });

    await follower.refresh(false);
    await follower.persisted();

    expect(idsOf((await store.load()).events)).toEqual(['e2']);
    follower.forget(['e1']);
    expect(waitingIn(follower)).toEqual(['e2']);
  });

  it('does not take the events the other tab has in flight while their lease lasts', async () => {
    trackIn(a, 1, 2, 3);
    await a.persisted();
    await b.refresh(true);

    const leaseUntil = time + LEASE;
    expect(idsOf(b.takeBatch(2, Infinity, leaseUntil))).toEqual(['e1', 'e2']);
    await b.persisted();
    time = leaseUntil - 1;
    await a.refresh(true);

    expect(waitingIn(a)).toEqual(['e3']);
    expect(idsOf(a.takeBatch(ALL, Infinity))).toEqual(['e3']);
  });

  it('takes the events of a tab that died with them in flight once their lease has run out', async () => {
    trackIn(a, 1, 2, 3);
    await a.persisted();
    await b.refresh(true);
    const leaseUntil = time + LEASE;
    b.takeBatch(2, Infinity, leaseUntil);
    await b.persisted();
    await a.refresh(true);

    time = leaseUntil;
    await a.refresh(true);

    expect(waitingIn(a)).toEqual(numbered(1, 3));
  });

  it('lets the other tab send at once a batch put back after a failure: it lost its lease', async () => {
    trackIn(a, 1, 2);
    await a.persisted();
    await b.refresh(true);
    const batch = b.takeBatch(ALL, Infinity, time + LEASE);
    await b.persisted();

    b.requeueFront(batch, true);
    await b.persisted();
    await a.refresh(true);

    const taken = a.takeBatch(ALL, Infinity);
    expect(idsOf(taken)).toEqual(['e1', 'e2']);
    expect(taken.map((event) => [event.attempts, event.leaseUntil])).toEqual([
      [1, undefined],
      [1, undefined],
    ]);
  });

  it('skips the events the other tab handed to the browser as its page went away', async () => {
    trackIn(a, 1, 2, 3);
    await a.persisted();
    await b.refresh(true);

    b.handOff(b.takeBatch(2, Infinity), time);
    await b.persisted();
    await a.refresh(true);

    expect(waitingIn(a)).toEqual(['e3']);
  });

  it('never puts back in the waiting list what this tab has in flight itself', async () => {
    trackIn(a, 1, 2, 3);
    await a.persisted();

    expect(idsOf(a.takeBatch(2, Infinity))).toEqual(['e1', 'e2']);
    await a.refresh(true);

    expect(waitingIn(a)).toEqual(['e3']);
  });

  it('keeps the events this tab tracked while the store was being read', async () => {
    trackIn(b, 1);
    await b.persisted();

    const refreshing = a.refresh(true);
    trackIn(a, 2);
    await refreshing;
    await a.refresh(true);

    expect(waitingIn(a)).toEqual(['e1', 'e2']);
  });
});

describe('the page exit log, shared by the tabs of an origin', () => {
  const KEY = 'homing-exit-test';

  beforeEach(() => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('keeps the tab taking over from resending a beacon batch whose mark never reached the store', async () => {
    const store = createCopyingStore();
    const takingOver = createQueue({ store, maxQueueSize: ALL, now: () => 1, onWriteError: () => {}, exitLog: createPageExitLog(KEY) });
    await store.write({ put: [1, 2, 3].map((n) => storedEventNumbered(n)), remove: [] });
    // The closing sender noted its beacon at once; its store write was lost with the page.
    createPageExitLog(KEY).noteHandOff(['e1', 'e2']);

    await takingOver.refresh(true);

    expect(idsOf(takingOver.peekBatch(ALL, Infinity))).toEqual(['e3']);
  });

  it("keeps a tab's rescued events when another tab goes away right after with nothing to rescue", () => {
    const closing = createPageExitLog(KEY);
    const other = createPageExitLog(KEY);

    closing.rescue([storedEventNumbered(1), storedEventNumbered(2)]);
    other.rescue([]);

    expect(idsOf(createPageExitLog(KEY).take().rescued)).toEqual(['e1', 'e2']);
  });

  it("keeps another tab's rescued events when this tab comes back, and forgets only its own", () => {
    const closing = createPageExitLog(KEY);
    const back = createPageExitLog(KEY);
    back.rescue([storedEventNumbered(3)]);

    closing.rescue([storedEventNumbered(1)]);
    back.forgetRescue();

    expect(idsOf(createPageExitLog(KEY).take().rescued)).toEqual(['e1']);
  });

  it('gives the next page load what every tab that went away rescued', () => {
    createPageExitLog(KEY).rescue([storedEventNumbered(1)]);
    createPageExitLog(KEY).rescue([storedEventNumbered(2)]);

    expect(idsOf(createPageExitLog(KEY).take().rescued)).toEqual(['e1', 'e2']);
  });

  it('keeps one copy of an event two tabs rescued: the later one', () => {
    createPageExitLog(KEY).rescue([storedEventNumbered(1)]);
    createPageExitLog(KEY).rescue([storedEventNumbered(2), storedEventNumbered(1, { attempts: 1 })]);

    expect(createPageExitLog(KEY).take().rescued).toEqual([storedEventNumbered(2), storedEventNumbered(1, { attempts: 1 })]);
  });
});

describe('two trackers on one localStorage (two tabs, no Web Locks)', () => {
  const FLUSH_INTERVAL = 300;
  /** The tracker's default margin over the request timeout for a batch's lease. */
  const LEASE_MARGIN_MS = 5_000;

  beforeEach(() => {
    useFakeTime();
    vi.stubGlobal('navigator', { onLine: true });
    vi.stubGlobal('localStorage', createLocalStorageStub());
    vi.spyOn(console, 'warn').mockImplementation(() => {});
  });

  const running: Tracker[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((tracker) => tracker.shutdown()));
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  /** Each test's own storageKey: BroadcastChannels of earlier tests are still open in this process. */
  let keys = 0;
  let storageKey: string;
  beforeEach(() => {
    storageKey = `homing-tabs-${++keys}`;
  });

  /** A tab: a tracker on the shared localStorage with its own recording transport. */
  function openTab(options: { answer?: Answer; clock?: Clock; timeout?: number; dies?: boolean } = {}) {
    const recording = createRecordingTransport(options.answer);
    const tracker = createTracker({
      endpoint: '/collect',
      store: 'localstorage',
      storageKey,
      transport: recording.transport,
      flushInterval: FLUSH_INTERVAL,
      batchSize: 10,
      random: () => 0.5,
      clock: options.clock,
      timeout: options.timeout,
    });
    // A tab that dies is never shut down: it just stops.
    if (!options.dies) running.push(tracker);
    return { tracker, ...recording, sentIds: () => recording.requests.flatMap((request) => request.payload.batch.map((event) => event.messageId)) };
  }

  /** Runs fake time in small steps, letting nudges (real MessagePort messages) arrive between them. */
  async function run(ms: number, step = 100) {
    for (let spent = 0; spent < ms; spent += step) {
      await elapse(step);
      await realTick();
    }
  }

  it('sends from the lock holder only, and every event of both tabs arrives once', async () => {
    const first = openTab();
    const second = openTab();
    const tracked: string[] = [];
    first.tracker.on('queued', (event) => tracked.push(event.messageId));
    second.tracker.on('queued', (event) => tracked.push(event.messageId));
    await settle();

    trackNumbered(first.tracker, 1, 15);
    trackNumbered(second.tracker, 16, 40);
    await run(3_000);

    expect(second.requests).toEqual([]);
    expect(first.sentIds().sort()).toEqual([...tracked].sort());
    expect(new Set(first.sentIds()).size).toBe(40);
    expect(first.tracker.stats()).toMatchObject({ delivered: 40 });
    expect(second.tracker.stats()).toMatchObject({ queued: 0, requests: 0 });
  });

  it('hands the sending to the other tab when the holder shuts down', async () => {
    const first = openTab();
    const second = openTab();
    await settle();
    await first.tracker.shutdown();

    trackNumbered(second.tracker, 1, 5);
    await run(LEASE_MS);

    expect(first.requests).toEqual([]);
    expect(second.batches()).toEqual([numbered(1, 5)]);
  });

  it('sends the batch a dead tab had in flight from the other tab once its lease runs out, with nothing else happening there', async () => {
    const timeout = 10_000;
    const dying = mortalClock();
    const first = openTab({ answer: neverAnswers, clock: dying.clock, timeout, dies: true });
    const second = openTab({ timeout });
    await settle();
    trackNumbered(first.tracker, 1, 3);
    await run(FLUSH_INTERVAL + 100);
    expect(first.batches()).toEqual([numbered(1, 3)]);

    dying.die();
    await run(timeout + LEASE_MARGIN_MS + 2 * LEASE_MS);

    expect(second.batches()).toEqual([numbered(1, 3)]);
  });
});

describe('two trackers on one localStorage, with Web Locks', () => {
  let storage: Storage;
  let storageKey: string;
  let keys = 0;
  /** Every value the trackers wrote under the queue's key: a lease shows as `leaseUntil`. */
  let writes: string[];
  const running: Tracker[] = [];

  beforeEach(() => {
    useFakeTime();
    storageKey = `homing-locks-${++keys}`;
    writes = [];
    const stub = createLocalStorageStub();
    storage = { ...stub, get length() { return stub.length; }, setItem: (key, value) => (key === `${storageKey}:events` && writes.push(value), stub.setItem(key, value)) };
    vi.stubGlobal('navigator', { onLine: true, locks: createFakeLocks() });
    vi.stubGlobal('localStorage', storage);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((tracker) => tracker.shutdown()));
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  function openTab(answer?: Answer) {
    const recording = createRecordingTransport(answer);
    const tracker = createTracker({ endpoint: '/collect', store: 'localstorage', storageKey, transport: recording.transport, batchSize: 10, random: () => 0.5 });
    running.push(tracker);
    return { tracker, ...recording };
  }
  const leasedWrites = () => writes.filter((value) => value.includes('leaseUntil')).length;

  it('leases no batch while no other tab waits for the lock: one store write less per request', async () => {
    const only = openTab();
    await settle();

    trackNumbered(only.tracker, 1, 30);
    await only.tracker.flush();

    expect(only.batches()).toEqual([numbered(1, 10), numbered(11, 20), numbered(21, 30)]);
    expect(leasedWrites()).toBe(0);
    expect(storage.getItem(`${storageKey}:events`)).toBeNull();
  });

  it('leases every batch while another tab waits, and sends what that tab tracked once', async () => {
    const first = openTab();
    await settle();
    const second = openTab();
    await settle();

    trackNumbered(second.tracker, 1, 5);
    await second.tracker.flush();
    trackNumbered(first.tracker, 6, 20);
    await first.tracker.flush();

    expect(second.requests).toEqual([]);
    expect(first.batches().flat().sort()).toEqual(numbered(1, 20).sort());
    expect(leasedWrites()).toBeGreaterThanOrEqual(2);
  });

  it('sends at once what another tab rescued as it went away, its store write never committed', async () => {
    const window = stubWindowEvents();
    const only = openTab();
    await settle();

    const storageEvent = (key: string, newValue: string | null) => window.dispatchEvent(Object.assign(new Event('storage'), { key, newValue }));
    // What a dying tab's pagehide leaves: the events in the exit log, none of them in the store.
    storage.setItem(`${storageKey}:rescued`, JSON.stringify([storedEventNumbered(1), storedEventNumbered(2)]));
    storageEvent(`${storageKey}:handedOff`, '[]');
    storageEvent(`other-queue:rescued`, '[…]');
    storageEvent(`${storageKey}:rescued`, null);
    await settle();
    await only.tracker.flush();
    expect(only.requests).toEqual([]);

    storageEvent(`${storageKey}:rescued`, '[…]');
    await settle();
    await only.tracker.flush();

    expect(only.batches()).toEqual([numbered(1, 2)]);
    expect(storage.getItem(`${storageKey}:rescued`)).toBeNull();
  });

  it('takes over what the last holder rescued as it went away', async () => {
    const first = openTab();
    await settle();
    const second = openTab();
    await settle();

    storage.setItem(`${storageKey}:rescued`, JSON.stringify([storedEventNumbered(1)]));
    await first.tracker.shutdown();
    await settle();
    await settle();
    await second.tracker.flush();

    expect(first.requests).toEqual([]);
    expect(second.batches()).toEqual([['e1']]);
  });

  it('rereads the store when it takes over: it sends what the last holder left there', async () => {
    const first = openTab(() => ({ kind: 'retry', status: 503 }));
    await settle();
    const second = openTab();
    await settle();
    // A drain while waiting: this tab has read the store, empty then.
    await second.tracker.flush();
    trackNumbered(first.tracker, 1, 3);
    await first.tracker.flush();

    await first.tracker.shutdown();
    await settle();
    await settle();
    await second.tracker.flush();

    expect(second.batches()).toEqual([numbered(1, 3)]);
  });
});

/** One turn of the real event loop, where MessagePort messages (BroadcastChannel nudges) arrive. */
function realTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
