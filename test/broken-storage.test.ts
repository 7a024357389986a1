/**
 * Broken storage (design.md invariant 6: storage failures degrade IndexedDB ▸ localStorage ▸
 * memory and keep working). Each case keeps tracking working, loses nothing already in memory
 * (everything is delivered at the end), and is reported once through on('error'), not once per
 * event.
 */
import { IDBFactory, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HomingError } from '../src/errors';
import type { EventStore, StoredEvent } from '../src/store/event-store';
import { STORE_TIMEOUT_MS } from '../src/store/store-chain';
import type { SendResult } from '../src/transport/transport';
import { eventOf, storedEventNumbered } from './support/events';
import { createLocalStorageStub } from './support/local-storage-stub';
import type { Answer } from './support/recording-transport';
import { elapse, useFakeTime } from './support/time';
import { deliverAll, numbered, shutDownTestTrackers, startTestTracker, trackNumbered, trackOneByOne, type HarnessOptions } from './support/tracker-harness';

const DATABASE = 'homing';
/** Where a tracker without Web Locks (Node) keeps its one queue. */
const EVENTS_KEY = 'homing:queue:default';
const quotaExceeded = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
const securityError = () => new DOMException('Access is denied for this document.', 'SecurityError');
const retry503: SendResult = { kind: 'retry', status: 503 };
/** The collector fails until `recover()`. */
function failingCollector() {
  let down = true;
  const answer: Answer = () => (down ? retry503 : { kind: 'delivered', status: 200 });
  return { answer, recover: () => (down = false) };
}

let localStorage: Storage;

beforeEach(() => {
  useFakeTime();
  vi.stubGlobal('indexedDB', new IDBFactory());
  vi.stubGlobal('IDBKeyRange', IDBKeyRange);
  localStorage = createLocalStorageStub();
  vi.stubGlobal('localStorage', localStorage);
});

afterEach(async () => {
  await shutDownTestTrackers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** How many times each error code was reported. */
function codeCounts(errors: HomingError[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { code } of errors) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

/** Names of the events the collector answered 2xx, in order (the recording transport answers as told). */
function deliveredNames(harness: Awaited<ReturnType<typeof startTestTracker>>) {
  return harness.delivered.flatMap(({ events }) => events.map((event) => event.event));
}

/** A tracker on `store`, with a collector that is down until `recover()`. */
async function startWithCollectorDown(options: HarnessOptions) {
  const collector = failingCollector();
  const harness = await startTestTracker({ batchSize: 100, answer: collector.answer, ...options });
  return { ...harness, recover: collector.recover };
}

/** Records the IndexedDB connections opened from now on, so a test can close them under the tracker. */
function recordConnections(factory: IDBFactory): IDBDatabase[] {
  const connections: IDBDatabase[] = [];
  const open = factory.open.bind(factory);
  factory.open = (...args: Parameters<IDBFactory['open']>) => {
    const request = open(...args);
    request.addEventListener('success', () => connections.push(request.result));
    return request;
  };
  return connections;
}

const idsIn = (storage: Storage) => (JSON.parse(storage.getItem(EVENTS_KEY) ?? '[]') as StoredEvent[]).map((stored) => eventOf(stored).event);

describe('QuotaExceededError on write', () => {
  it('keeps tracking when a custom store throws QuotaExceededError on every write, delivers everything, and reports it once', async () => {
    const store: EventStore = {
      kind: 'custom',
      load: async () => ({ events: [], invalid: 0 }),
      write: async () => {
        throw quotaExceeded();
      },
    };
    const harness = await startWithCollectorDown({ store });

    await trackOneByOne(harness.tracker, 1, 20);
    await harness.tracker.flush();
    harness.recover();
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 20));
    expect(harness.tracker.stats()).toMatchObject({ delivered: 20, dropped: 0, queued: 0 });
    expect(codeCounts(harness.errors)).toEqual({ store_error: 1 });
    expect(harness.errors[0]!.message).toMatch(/custom store failed \(The quota has been exceeded/);
  });

  it('falls back from localStorage to memory, carrying every event, once the queue outgrows the quota, and reports it once', async () => {
    const setItem = localStorage.setItem.bind(localStorage);
    localStorage.setItem = (key, value) => {
      if (value.length > 4_000) throw quotaExceeded();
      setItem(key, value);
    };
    const harness = await startWithCollectorDown({ store: 'localstorage' });

    await trackOneByOne(harness.tracker, 1, 30);
    expect(harness.tracker.stats()).toMatchObject({ store: 'memory', health: 'failing', queued: 30 });
    harness.recover();
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 30));
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toMatch(/the localstorage store failed \(The quota has been exceeded.\); using memory/);
  });

  it('uses memory, and says so once, when localStorage refuses even its first write', async () => {
    localStorage.setItem = () => {
      throw quotaExceeded();
    };
    const harness = await startTestTracker({ store: 'localstorage' });

    await trackOneByOne(harness.tracker, 1, 10);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.tracker.stats()).toMatchObject({ store: 'memory', health: 'failing' });
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toMatch(/the localstorage store failed \(The quota has been exceeded.\); using memory/);
  });

  it('falls back from IndexedDB to localStorage when IndexedDB throws QuotaExceededError mid-life, carrying the queued events', async () => {
    const harness = await startWithCollectorDown({ store: 'auto' });
    await trackOneByOne(harness.tracker, 1, 3);
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
      throw quotaExceeded();
    });

    await trackOneByOne(harness.tracker, 4, 10);

    expect(put).toHaveBeenCalled();
    expect(harness.tracker.stats()).toMatchObject({ store: 'localstorage', queued: 10 });
    expect(idsIn(localStorage)).toEqual(numbered(1, 10));
    harness.recover();
    await deliverAll(harness.tracker);
    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
  });
});

describe('IndexedDB that does not open', () => {
  it('falls back to localStorage when the open request never answers, and sends what was tracked meanwhile', async () => {
    vi.stubGlobal('indexedDB', { open: () => ({}) });
    const harness = await startTestTracker({ store: 'auto' });
    await trackOneByOne(harness.tracker, 1, 5);

    await elapse(STORE_TIMEOUT_MS);
    await trackOneByOne(harness.tracker, 6, 8);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 8));
    expect(harness.tracker.stats().store).toBe('localstorage');
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toMatch(/the indexeddb store failed \(.*did not answer within 3000 ms\); using localstorage/);
  });

  it('falls back to localStorage when the open is blocked behind another connection that will not close', async () => {
    const factory = new IDBFactory();
    vi.stubGlobal('indexedDB', factory);
    const otherTab = await new Promise<IDBDatabase>((resolve) => {
      const request = factory.open(DATABASE, 1);
      request.onupgradeneeded = () => request.result.createObjectStore('events');
      request.onsuccess = () => resolve(request.result);
    });
    // A third page asks for version 2: blocked by the other tab, and every later open waits behind it.
    factory.open(DATABASE, 2);
    const harness = await startTestTracker({ store: 'auto' });
    await trackOneByOne(harness.tracker, 1, 5);

    await elapse(STORE_TIMEOUT_MS);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 5));
    expect(harness.tracker.stats().store).toBe('localstorage');
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    otherTab.close();
  });

  it('falls back to localStorage at once when the open request fails', async () => {
    vi.stubGlobal('indexedDB', {
      open() {
        const request: Partial<IDBOpenDBRequest> & { error?: DOMException } = {};
        setImmediate(() => {
          request.error = new DOMException('Internal error opening backing store.', 'UnknownError');
          (request.onerror as () => void)?.();
        });
        return request;
      },
    });
    const harness = await startTestTracker({ store: 'auto' });

    await trackOneByOne(harness.tracker, 1, 5);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 5));
    expect(harness.tracker.stats().store).toBe('localstorage');
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toContain('Internal error opening backing store');
  });

  it('uses localStorage, and says so once, where reading indexedDB itself throws (a sandboxed frame)', async () => {
    Object.defineProperty(globalThis, 'indexedDB', { configurable: true, get: () => { throw securityError(); } });
    const harness = await startTestTracker({ store: 'auto' });

    await trackOneByOne(harness.tracker, 1, 5);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 5));
    expect(harness.tracker.stats().store).toBe('localstorage');
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toMatch(/the indexeddb store failed \(Access is denied/);
  });
});

describe('the database closed or deleted under the tracker', () => {
  it('falls back to localStorage, carrying every queued event, when its connection is closed', async () => {
    const connections = recordConnections(indexedDB as IDBFactory);
    const harness = await startWithCollectorDown({ store: 'auto' });
    await trackOneByOne(harness.tracker, 1, 5);
    expect(connections).toHaveLength(1);

    connections[0]!.close();
    await trackOneByOne(harness.tracker, 6, 10);

    expect(harness.tracker.stats()).toMatchObject({ store: 'localstorage', queued: 10 });
    expect(idsIn(localStorage)).toEqual(numbered(1, 10));
    harness.recover();
    await deliverAll(harness.tracker);
    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toMatch(/^the indexeddb store failed \(.+\); using localstorage$/);
  });

  it('falls back to localStorage, carrying every queued event, when the database is closed and deleted (site data cleared)', async () => {
    const factory = indexedDB as IDBFactory;
    const connections = recordConnections(factory);
    const harness = await startWithCollectorDown({ store: 'auto' });
    await trackOneByOne(harness.tracker, 1, 5);

    connections[0]!.close();
    await new Promise<void>((resolve) => (factory.deleteDatabase(DATABASE).onsuccess = () => resolve()));
    await trackOneByOne(harness.tracker, 6, 10);
    harness.recover();
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
  });

  it('keeps tracking while another page waits to delete the database', async () => {
    const factory = indexedDB as IDBFactory;
    const harness = await startWithCollectorDown({ store: 'auto' });
    await trackOneByOne(harness.tracker, 1, 5);

    factory.deleteDatabase(DATABASE);
    await trackOneByOne(harness.tracker, 6, 10);
    harness.recover();
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.errors).toEqual([]);
  });

  it('keeps tracking, and delivers everything it holds, when the browser closes the connection itself and the database is gone', async () => {
    const factory = indexedDB as IDBFactory;
    const connections = recordConnections(factory);
    const harness = await startWithCollectorDown({ store: 'auto' });
    await trackOneByOne(harness.tracker, 1, 5);

    // What a browser does when site data is cleared: close the connection, firing `close`, and delete the database.
    connections[0]!.close();
    connections[0]!.onclose?.(new Event('close'));
    await new Promise<void>((resolve) => (factory.deleteDatabase(DATABASE).onsuccess = () => resolve()));
    await trackOneByOne(harness.tracker, 6, 10);
    harness.recover();
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.tracker.stats()).toMatchObject({ delivered: 10, dropped: 0, queued: 0 });
  });
});

describe('corrupted and foreign data under our keys', () => {
  /**
   * Writes records into homing's database as a tracker without Web Locks (Node) uses it: one
   * queue, `default`, keyed `[queue, seq, id]`; the connection closes after, as the tracker's own
   * open must not be blocked by it.
   */
  async function plant(records: Array<[IDBValidKey, unknown]>) {
    const request = indexedDB.open(DATABASE, 2);
    request.onupgradeneeded = () => request.result.createObjectStore('queue');
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const transaction = db.transaction('queue', 'readwrite');
    for (const [key, value] of records) transaction.objectStore('queue').put(value, key);
    await new Promise((resolve) => (transaction.oncomplete = resolve));
    db.close();
  }
  const keyOf = (n: number, id = `e${n}`) => ['default', n, id];

  it('discards IndexedDB records of the wrong shape, reports them once, and sends the valid ones first', async () => {
    await plant([
      [keyOf(1), storedEventNumbered(1)],
      [keyOf(2, 'someone-else'), { hello: 'world' }],
      [keyOf(3), 42],
      [keyOf(4), { ...storedEventNumbered(4), id: 'not-e4' }],
      [keyOf(5), { ...storedEventNumbered(5), json: JSON.stringify({ ...eventOf(storedEventNumbered(5)), context: null }) }],
    ]);
    const harness = await startTestTracker({ store: 'auto' });

    trackNumbered(harness.tracker, 6, 7);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(['e1', 'e6', 'e7']);
    expect(codeCounts(harness.errors)).toEqual({ store_corrupt: 1 });
    expect(harness.errors[0]!.message).toMatch(/4 unreadable record\(s\) in the indexeddb store were discarded/);
  });

  it.each([
    ['cut short', (json: string) => json.slice(0, 40)],
    ['holding an event of another id', (json: string) => json.replace('"messageId":"e2"', '"messageId":"e9"')],
  ])('discards an IndexedDB record of our shape whose JSON text is %s, which no collector would take', async (_what, spoil) => {
    const foreign = storedEventNumbered(2);
    await plant([
      [keyOf(1), storedEventNumbered(1)],
      [keyOf(2), { ...foreign, json: spoil(foreign.json) }],
    ]);
    const harness = await startTestTracker({ store: 'auto' });

    trackNumbered(harness.tracker, 3, 4);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(['e1', 'e3', 'e4']);
    expect(harness.tracker.stats()).toMatchObject({ queued: 0 });
    expect(codeCounts(harness.errors)).toEqual({ store_corrupt: 1 });
  });

  it.each([
    ['corrupted JSON', '[{"id":"e1", "seq": 1, trunc'],
    ['a number', '42'],
    ['null', 'null'],
    ['an object', '{"hello":"world"}'],
    ['an array of foreign values', '[1, "two", null, {"id": "x"}]'],
  ])('discards %s under its localStorage key, reports it once, and works on', async (_what, garbage) => {
    localStorage.setItem(EVENTS_KEY, garbage);
    const harness = await startTestTracker({ store: 'localstorage' });

    await trackOneByOne(harness.tracker, 1, 5);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 5));
    expect(codeCounts(harness.errors)).toEqual({ store_corrupt: 1 });
    expect(localStorage.getItem(EVENTS_KEY)).toBeNull();
  });

  it('keeps the valid events among foreign values in localStorage and sends them first', async () => {
    localStorage.setItem(EVENTS_KEY, JSON.stringify([{ hello: 'world' }, storedEventNumbered(1), 'garbage', storedEventNumbered(2)]));
    const harness = await startTestTracker({ store: 'localstorage' });

    harness.tracker.track('e3');
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 3));
    expect(codeCounts(harness.errors)).toEqual({ store_corrupt: 1 });
  });

  it('loses nothing it holds when garbage is written under its localStorage key while it runs', async () => {
    const harness = await startWithCollectorDown({ store: 'localstorage' });
    await trackOneByOne(harness.tracker, 1, 5);

    localStorage.setItem(EVENTS_KEY, '{"written by": "someone else"');
    await trackOneByOne(harness.tracker, 6, 10);
    harness.recover();
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.tracker.stats()).toMatchObject({ delivered: 10, dropped: 0, queued: 0 });
  });

  it('loses nothing it holds when the page clears localStorage while it runs', async () => {
    const harness = await startWithCollectorDown({ store: 'localstorage' });
    await trackOneByOne(harness.tracker, 1, 5);

    localStorage.clear();
    await trackOneByOne(harness.tracker, 6, 10);
    harness.recover();
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.tracker.stats()).toMatchObject({ delivered: 10, dropped: 0, queued: 0 });
  });

  it('works on with garbage under the identity keys, starting a new identity', async () => {
    localStorage.setItem('homing:session', '{not json');
    localStorage.setItem('homing:anonymousId', '');
    localStorage.setItem('homing:userId', '');
    const harness = await startTestTracker({ store: 'localstorage' });

    harness.tracker.track('e1');
    await deliverAll(harness.tracker);

    const [event] = harness.requests[0]!.payload.batch;
    expect(event).toMatchObject({ event: 'e1', anonymousId: expect.stringMatching(/^[0-9a-f-]{36}$/), context: { sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
    expect(event!.userId).toBeUndefined();
    expect(harness.errors).toEqual([]);
  });
});

describe('storage that throws on every call', () => {
  /** A localStorage whose every method throws, as in some private modes. */
  function throwingStorage(): Storage {
    return new Proxy({} as Storage, {
      get: (_target, name) => (name === 'length' ? 0 : () => {
        throw securityError();
      }),
    });
  }

  it('uses memory, and says so once, when every localStorage method throws', async () => {
    vi.stubGlobal('localStorage', throwingStorage());
    const harness = await startTestTracker({ store: 'localstorage' });

    await trackOneByOne(harness.tracker, 1, 10);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.tracker.stats()).toMatchObject({ store: 'memory', health: 'failing' });
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toMatch(/the localstorage store failed \(Access is denied/);
  });

  it('uses memory, and says so once, when reading globalThis.localStorage throws', async () => {
    vi.stubGlobal('indexedDB', undefined);
    Object.defineProperty(globalThis, 'localStorage', { configurable: true, get: () => { throw securityError(); } });
    const harness = await startTestTracker({ store: 'auto' });

    await trackOneByOne(harness.tracker, 1, 10);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.tracker.stats().store).toBe('memory');
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.requests[0]!.payload.batch[0]!.anonymousId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses memory, and says so once, when both IndexedDB and localStorage are blocked', async () => {
    Object.defineProperty(globalThis, 'indexedDB', { configurable: true, get: () => { throw securityError(); } });
    vi.stubGlobal('localStorage', throwingStorage());
    const harness = await startTestTracker({ store: 'auto' });

    await trackOneByOne(harness.tracker, 1, 10);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(harness.tracker.stats().store).toBe('memory');
    expect(codeCounts(harness.errors)).toEqual({ store_fallback: 1 });
    expect(harness.errors[0]!.message).toMatch(/the indexeddb store failed .*; using memory/);
  });

  it('keeps tracking when a custom store fails to load, and reports it once', async () => {
    const store: EventStore = { kind: 'custom', load: () => Promise.reject(securityError()), write: async () => {} };
    const harness = await startTestTracker({ store });

    await trackOneByOne(harness.tracker, 1, 10);
    await deliverAll(harness.tracker);

    expect(deliveredNames(harness)).toEqual(numbered(1, 10));
    expect(codeCounts(harness.errors)).toEqual({ store_error: 1 });
    expect(harness.errors[0]!.message).toContain('Access is denied');
  });
});
