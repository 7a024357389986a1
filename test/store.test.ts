import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { createStore as openIdbKeyvalStore, set } from 'idb-keyval';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAutoStore, STORE_TIMEOUT_MS, type EventStore, type StoreFallback, type StoreKind, type StoredEvent } from '../src/store/event-store';
import { createIndexedDbStore } from '../src/store/indexeddb';
import { createLocalStorageStore } from '../src/store/local-storage';
import { createMemoryStore } from '../src/store/memory';
import { createTracker } from '../src/tracker';
import type { HomingError } from '../src/errors';
import { createCountingStore, idsOf, storedEventNumbered } from './support/events';
import { createLocalStorageStub } from './support/local-storage-stub';
import { answersInTurn, createRecordingTransport } from './support/recording-transport';
import { elapse, settle, useFakeTime } from './support/time';
import { numbered, shutDownTestTrackers, startTestTracker, trackNumbered } from './support/tracker-harness';

const NAME = 'homing-test';
const quotaExceeded = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
const put = (...events: StoredEvent[]) => ({ put: events, remove: [] });

/** Gives this test its own IndexedDB and localStorage, both empty. */
function freshBrowserStorage(): Storage {
  vi.stubGlobal('indexedDB', new IDBFactory());
  const localStorage = createLocalStorageStub();
  vi.stubGlobal('localStorage', localStorage);
  return localStorage;
}

beforeEach(() => {
  freshBrowserStorage();
});

afterEach(async () => {
  await shutDownTestTrackers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const implementations: Array<[string, () => EventStore]> = [
  ['memory', createMemoryStore],
  ['localStorage', () => createLocalStorageStore(NAME)],
  ['IndexedDB', () => createIndexedDbStore(NAME)],
];

describe.each(implementations)('the %s store', (_name, openStore) => {
  it('loads what it was given in seq order, whatever order it was written in', async () => {
    const store = openStore();

    await store.write(put(storedEventNumbered(3), storedEventNumbered(1)));
    await store.write(put(storedEventNumbered(2)));

    expect(await store.load()).toEqual({ events: [storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(3)], invalid: 0 });
  });

  it('forgets the events it is told to remove', async () => {
    const store = openStore();
    await store.write(put(storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(3)));

    await store.write({ put: [], remove: ['e1', 'e3'] });

    expect(idsOf((await store.load()).events)).toEqual(['e2']);
  });

  it('replaces an event written again', async () => {
    const store = openStore();
    await store.write(put(storedEventNumbered(1)));

    await store.write(put(storedEventNumbered(1, { attempts: 2 })));

    expect((await store.load()).events).toEqual([storedEventNumbered(1, { attempts: 2 })]);
  });

  it('loads nothing when nothing was written', async () => {
    expect(await openStore().load()).toEqual({ events: [], invalid: 0 });
  });
});

describe('the localStorage store', () => {
  const KEY = `${NAME}:events`;

  it('keeps every event under one key as a JSON array', async () => {
    const localStorage = freshBrowserStorage();

    await createLocalStorageStore(NAME).write(put(storedEventNumbered(1)));

    expect(JSON.parse(localStorage.getItem(KEY)!)).toEqual([storedEventNumbered(1)]);
  });

  it('discards and counts records that are not homing events, and keeps the rest', async () => {
    const localStorage = freshBrowserStorage();
    const foreign = [{ hello: 'world' }, 42, { ...storedEventNumbered(9), id: 'not-its-message-id' }];
    localStorage.setItem(KEY, JSON.stringify([storedEventNumbered(1), ...foreign]));
    const store = createLocalStorageStore(NAME);

    expect(await store.load()).toEqual({ events: [storedEventNumbered(1)], invalid: 3 });
    expect(JSON.parse(localStorage.getItem(KEY)!)).toEqual([storedEventNumbered(1)]);
  });

  it('discards corrupted JSON, counting it as one invalid record, and works on', async () => {
    const localStorage = freshBrowserStorage();
    localStorage.setItem(KEY, '[{"id":"e1", "seq": 1, trunc');
    const store = createLocalStorageStore(NAME);

    expect(await store.load()).toEqual({ events: [], invalid: 1 });
    await store.write(put(storedEventNumbered(2)));
    expect(idsOf((await store.load()).events)).toEqual(['e2']);
  });

  it('keeps the events another tab wrote meanwhile', async () => {
    const thisTab = createLocalStorageStore(NAME);
    const otherTab = createLocalStorageStore(NAME);

    await thisTab.write(put(storedEventNumbered(1)));
    await otherTab.write(put(storedEventNumbered(2)));
    await thisTab.write(put(storedEventNumbered(3)));

    expect(idsOf((await thisTab.load()).events)).toEqual(['e1', 'e2', 'e3']);
  });

  it('cannot be created where localStorage throws on every call (some private modes)', () => {
    const blocked = createLocalStorageStub();
    blocked.setItem = () => {
      throw quotaExceeded();
    };
    vi.stubGlobal('localStorage', blocked);

    expect(() => createLocalStorageStore(NAME)).toThrow(/quota/);
  });
});

describe('the IndexedDB store', () => {
  const foreignWriter = () => openIdbKeyvalStore(NAME, 'events');

  it('discards, deletes and counts records that are not homing events', async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1)));
    await set('someone-else', { hello: 'world' }, foreignWriter());
    await set('e7', { ...storedEventNumbered(8) }, foreignWriter());

    expect(await store.load()).toEqual({ events: [storedEventNumbered(1)], invalid: 2 });
    expect(await store.load()).toEqual({ events: [storedEventNumbered(1)], invalid: 0 });
  });

  it('lets another page delete its database rather than blocking it, and writes to a new one after', async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1)));

    await new Promise((resolve, reject) => {
      const deletion = indexedDB.deleteDatabase(NAME);
      deletion.onsuccess = resolve;
      deletion.onblocked = () => reject(new Error('the deletion is blocked by the open connection'));
    });
    await store.write(put(storedEventNumbered(2)));

    expect(idsOf((await store.load()).events)).toEqual(['e2']);
  });

  it('lets another page upgrade its database, and goes on writing in the upgraded one', async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1)));

    await new Promise((resolve, reject) => {
      const upgrade = indexedDB.open(NAME, 2);
      upgrade.onsuccess = () => resolve(upgrade.result.close());
      upgrade.onblocked = () => reject(new Error('the upgrade is blocked by the open connection'));
    });
    await store.write(put(storedEventNumbered(2)));

    expect(idsOf((await store.load()).events)).toEqual(['e1', 'e2']);
  });

  it('cannot be created where the runtime has no IndexedDB', () => {
    vi.stubGlobal('indexedDB', undefined);

    expect(() => createIndexedDbStore(NAME)).toThrow(/IndexedDB/);
  });
});

/** A store of the given kind whose load and write behave as told, recording what it was given. */
function fakeStore(kind: StoreKind, behaviour: { load?: () => Promise<never>; write?: (calls: number) => Promise<void> | undefined } = {}) {
  const inner = createMemoryStore();
  let writes = 0;
  const store: EventStore = {
    kind,
    load: () => behaviour.load?.() ?? inner.load(),
    write: (changes) => behaviour.write?.(++writes) ?? inner.write(changes),
  };
  return { store, held: async () => idsOf((await inner.load()).events) };
}

const never = () => new Promise<never>(() => {});
const rejectWith = (error: unknown) => () => Promise.reject(error);
/** Writes succeed `n` times, then throw QuotaExceededError. */
const writesFailAfter = (n: number) => (calls: number) => (calls > n ? Promise.reject(quotaExceeded()) : undefined);

function autoStoreOf(...stores: EventStore[]) {
  const fallbacks: StoreFallback[] = [];
  const auto = createAutoStore(
    stores.map((store) => () => store),
    (fallback) => fallbacks.push(fallback),
  );
  return { auto, fallbacks, steps: () => fallbacks.map(({ from, to }) => `${from} > ${to}`) };
}

describe('createAutoStore', () => {
  it('uses the first store that loads, without reporting anything', async () => {
    const indexedDb = fakeStore('indexeddb');
    const { auto, fallbacks } = autoStoreOf(indexedDb.store, fakeStore('localstorage').store);

    await auto.load();
    await auto.write(put(storedEventNumbered(1)));

    expect(auto.kind).toBe('indexeddb');
    expect(await indexedDb.held()).toEqual(['e1']);
    expect(fallbacks).toEqual([]);
  });

  it('skips, silently, a store the runtime does not have', async () => {
    const fallbacks: StoreFallback[] = [];
    const auto = createAutoStore(
      [() => createIndexedDbStore(NAME), () => createMemoryStore()],
      (fallback) => fallbacks.push(fallback),
    );
    vi.stubGlobal('indexedDB', undefined);

    await auto.load();

    expect(auto.kind).toBe('memory');
    expect(fallbacks).toEqual([]);
  });

  it('falls back IndexedDB ▸ localStorage ▸ memory when loading fails, reporting each step', async () => {
    const error = new Error('broken');
    const { auto, steps, fallbacks } = autoStoreOf(
      fakeStore('indexeddb', { load: rejectWith(error) }).store,
      fakeStore('localstorage', { load: rejectWith(error) }).store,
      fakeStore('memory').store,
    );

    await auto.load();

    expect(auto.kind).toBe('memory');
    expect(steps()).toEqual(['indexeddb > localstorage', 'localstorage > memory']);
    expect(fallbacks[0]!.cause).toBe(error);
  });

  it('falls back when a store does not answer its load in time (a blocked IndexedDB open)', async () => {
    useFakeTime();
    const { auto, steps } = autoStoreOf(fakeStore('indexeddb', { load: never }).store, fakeStore('localstorage').store);
    let loaded = false;
    void auto.load().then(() => (loaded = true));

    await elapse(STORE_TIMEOUT_MS - 1);
    expect(loaded).toBe(false);
    await elapse(1);

    expect(loaded).toBe(true);
    expect(auto.kind).toBe('localstorage');
    expect(steps()).toEqual(['indexeddb > localstorage']);
  });

  it('moves every event it holds to the next store when a write fails mid-life, and reports it once', async () => {
    const indexedDb = fakeStore('indexeddb', { write: writesFailAfter(1) });
    const localStorage = fakeStore('localstorage');
    const { auto, steps, fallbacks } = autoStoreOf(indexedDb.store, localStorage.store);
    await auto.load();
    await auto.write(put(storedEventNumbered(1), storedEventNumbered(2)));

    await auto.write({ put: [storedEventNumbered(3)], remove: ['e1'] });
    await auto.write(put(storedEventNumbered(4)));

    expect(await localStorage.held()).toEqual(['e2', 'e3', 'e4']);
    expect(auto.kind).toBe('localstorage');
    expect(steps()).toEqual(['indexeddb > localstorage']);
    expect(fallbacks[0]!.cause).toMatchObject({ name: 'QuotaExceededError' });
  });

  it('moves on again when the next store fails too, still carrying every event', async () => {
    const { auto, steps } = autoStoreOf(
      fakeStore('indexeddb', { write: writesFailAfter(1) }).store,
      fakeStore('localstorage', { write: writesFailAfter(0) }).store,
      fakeStore('memory').store,
    );
    await auto.load();
    await auto.write(put(storedEventNumbered(1)));

    await auto.write(put(storedEventNumbered(2)));

    expect(auto.kind).toBe('memory');
    expect(idsOf((await auto.load()).events)).toEqual(['e1', 'e2']);
    expect(steps()).toEqual(['indexeddb > localstorage', 'localstorage > memory']);
  });

  it('falls back one step, not two, when a load and a write were both waiting on the store that hangs', async () => {
    useFakeTime();
    const localStorage = fakeStore('localstorage');
    const { auto, steps } = autoStoreOf(fakeStore('indexeddb', { load: never, write: () => never() }).store, localStorage.store, fakeStore('memory').store);

    const loading = auto.load();
    const writing = auto.write(put(storedEventNumbered(1)));
    await elapse(STORE_TIMEOUT_MS);
    await Promise.all([loading, writing]);

    expect(auto.kind).toBe('localstorage');
    expect(steps()).toEqual(['indexeddb > localstorage']);
    expect(await localStorage.held()).toEqual(['e1']);
  });

  it('carries the events written to a store whose load then failed', async () => {
    let failLoad: (error: Error) => void = () => {};
    const indexedDb = fakeStore('indexeddb', { load: () => new Promise<never>((_resolve, reject) => (failLoad = reject)) });
    const localStorage = fakeStore('localstorage');
    const { auto } = autoStoreOf(indexedDb.store, localStorage.store);

    const loading = auto.load();
    await auto.write(put(storedEventNumbered(1)));
    failLoad(new Error('version change blocked'));
    await loading;

    expect(auto.kind).toBe('localstorage');
    expect(await localStorage.held()).toEqual(['e1']);
  });
});

describe('a tracker whose store fails', () => {
  it('loses nothing and delivers everything when its own store starts throwing, and reports the store error once', async () => {
    useFakeTime();
    const { store, writes } = createCountingStore(fakeStore('custom', { write: writesFailAfter(1) }).store);
    const { tracker, batches, errors } = await startTestTracker({ store, batchSize: 100, answer: answersInTurn({ kind: 'retry', status: 503 }) });
    trackNumbered(tracker, 1, 3);
    await settle();
    trackNumbered(tracker, 4, 6);
    await settle();

    await tracker.flush();
    await elapse(500);
    await tracker.flush();

    expect(writes.length).toBeGreaterThan(1);
    expect(batches().slice(1).flat()).toEqual(numbered(1, 6));
    expect(tracker.stats()).toMatchObject({ delivered: 6, dropped: 0, queued: 0 });
    expect(errors.filter((error) => error.code === 'store_error')).toEqual([expect.objectContaining({ message: expect.stringMatching(/quota/i) })]);
  });

  it("falls back from IndexedDB to localStorage when IndexedDB's writes fail, keeping every queued event", async () => {
    const localStorage = freshBrowserStorage();
    const realPut = IDBObjectStore.prototype.put;
    let puts = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (++puts > 1) throw quotaExceeded();
      return realPut.apply(this, args);
    });
    const { transport, batches } = createRecordingTransport();
    const tracker = createTracker({ endpoint: '/collect', transport, batchSize: 100 });
    const errors: HomingError[] = [];
    tracker.on('error', (error) => errors.push(error));
    await tracker.flush();
    expect(tracker.stats().store).toBe('indexeddb');

    tracker.track('e1');
    await vi.waitFor(() => expect(puts).toBe(1));
    trackNumbered(tracker, 2, 3);
    await vi.waitFor(() => expect(localStorage.getItem('homing:events')).not.toBeNull());

    expect(JSON.parse(localStorage.getItem('homing:events')!).map((event: StoredEvent) => event.id).length).toBe(3);
    expect(tracker.stats()).toMatchObject({ store: 'localstorage', health: 'degraded' });
    expect(errors.map((error) => error.code)).toEqual(['store_fallback']);
    expect(errors[0]!.message).toMatch(/indexeddb.*localstorage/);

    await tracker.shutdown();
    expect(batches()).toEqual([numbered(1, 3)]);
    expect(localStorage.getItem('homing:events')).toBeNull();
  });
});
