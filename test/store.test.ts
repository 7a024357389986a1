import { IDBFactory, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb';
import { promisifyRequest } from 'idb-keyval';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventStore, StoreKind, StoredEvent } from '../src/store/event-store';
import { createIndexedDbBackend, createIndexedDbStore } from '../src/store/indexeddb';
import { createLocalStorageBackend, createLocalStorageStore } from '../src/store/local-storage';
import { createMemoryBackend, createMemoryStore } from '../src/store/memory';
import { createTracker } from '../src/tracker';
import type { HomingError } from '../src/errors';
import { createCountingStore, idsOf, storedEventNumbered } from './support/events';
import { createLocalStorageStub } from './support/local-storage-stub';
import { answersInTurn, createRecordingTransport } from './support/recording-transport';
import { elapse, settle, useFakeTime } from './support/time';
import { numbered, shutDownTestTrackers, startTestTracker, trackNumbered } from './support/tracker-harness';

const NAME = 'homing-test';
/** The queue a store opened without a queue name holds. */
const QUEUE = 'default';
const quotaExceeded = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
const put = (...events: StoredEvent[]) => ({ put: events, remove: [] });
/** Removes the events numbered `ns`. */
const remove = (...ns: number[]) => ({ put: [], remove: ns.map((n) => storedEventNumbered(n)) });

/** Gives this test its own IndexedDB and localStorage, both empty. */
function freshBrowserStorage(): Storage {
  vi.stubGlobal('indexedDB', new IDBFactory());
  vi.stubGlobal('IDBKeyRange', IDBKeyRange);
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

    await store.write(remove(1, 3));

    expect(idsOf((await store.load()).events)).toEqual(['e2']);
  });

  it('forgets events removed a few at a time, over several writes', async () => {
    const store = openStore();
    await store.write(put(...[1, 2, 3, 4, 5].map((n) => storedEventNumbered(n))));

    await store.write(remove(1, 2));
    await store.write(remove(3));

    expect(idsOf((await store.load()).events)).toEqual(['e4', 'e5']);
  });

  it('puts and removes in one write', async () => {
    const store = openStore();
    await store.write(put(storedEventNumbered(1)));

    await store.write({ put: [storedEventNumbered(2)], remove: [storedEventNumbered(1)] });

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

const backends: Array<[string, () => ReturnType<typeof createMemoryBackend>]> = [
  ['memory', createMemoryBackend],
  ['localStorage', () => createLocalStorageBackend(NAME)],
  ['IndexedDB', () => createIndexedDbBackend(NAME)],
];

describe.each(backends)('the %s backend', (_name, openBackend) => {
  it('keeps each queue apart from the others', async () => {
    const backend = openBackend();

    await backend.open('tab-a').write(put(storedEventNumbered(1)));
    await backend.open('tab-b').write(put(storedEventNumbered(2)));
    await backend.open('tab-b').write(remove(1, 2));

    expect(idsOf((await backend.open('tab-a').load()).events)).toEqual(['e1']);
    expect(idsOf((await backend.open('tab-b').load()).events)).toEqual([]);
  });

  it('names the queues that hold events, and only those', async () => {
    const backend = openBackend();
    await backend.open('tab-a').write(put(storedEventNumbered(1)));
    await backend.open('tab-b').write(put(storedEventNumbered(2)));
    await backend.open('tab-b').write(remove(2));

    expect(await backend.queues()).toEqual(['tab-a']);
  });
});

describe('the localStorage store', () => {
  const KEY = `${NAME}:queue:${QUEUE}`;

  it('keeps every event of a queue under one key, <storageKey>:queue:<queue>, as a JSON array', async () => {
    const localStorage = freshBrowserStorage();

    await createLocalStorageStore(NAME).write(put(storedEventNumbered(1)));
    await createLocalStorageStore(NAME, 'tab-a').write(put(storedEventNumbered(2)));

    expect(JSON.parse(localStorage.getItem(KEY)!)).toEqual([storedEventNumbered(1)]);
    expect(JSON.parse(localStorage.getItem(`${NAME}:queue:tab-a`)!)).toEqual([storedEventNumbered(2)]);
  });

  it('deletes the key of a queue once it is empty', async () => {
    const localStorage = freshBrowserStorage();
    const store = createLocalStorageStore(NAME);
    await store.write(put(storedEventNumbered(1)));

    await store.write(remove(1));

    expect(localStorage.getItem(KEY)).toBeNull();
  });

  it('discards and counts records that are not homing events, and keeps the rest', async () => {
    const localStorage = freshBrowserStorage();
    const foreign = [{ hello: 'world' }, 42, { ...storedEventNumbered(9), id: 'not-its-message-id' }, { ...storedEventNumbered(8), json: '{"not":"an event"}' }];
    localStorage.setItem(KEY, JSON.stringify([storedEventNumbered(1), ...foreign]));
    const store = createLocalStorageStore(NAME);

    expect(await store.load()).toEqual({ events: [storedEventNumbered(1)], invalid: 4 });
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

  it('keeps the events another page wrote to the same queue meanwhile (a rescue)', async () => {
    const thisTab = createLocalStorageStore(NAME);
    const otherTab = createLocalStorageStore(NAME);

    await thisTab.write(put(storedEventNumbered(1)));
    await otherTab.write(put(storedEventNumbered(2)));
    await thisTab.write(put(storedEventNumbered(3)));

    expect(idsOf((await thisTab.load()).events)).toEqual(['e1', 'e2', 'e3']);
  });

  it('is written synchronously, before write() returns', () => {
    const localStorage = freshBrowserStorage();

    void createLocalStorageStore(NAME).write(put(storedEventNumbered(1)));

    expect(JSON.parse(localStorage.getItem(KEY)!)).toEqual([storedEventNumbered(1)]);
  });

  it('is refused as unusable by its backend where localStorage throws on every call (some private modes)', () => {
    const blocked = createLocalStorageStub();
    blocked.setItem = () => {
      throw quotaExceeded();
    };
    vi.stubGlobal('localStorage', blocked);

    expect(() => createLocalStorageBackend(NAME)).toThrow(expect.objectContaining({ message: expect.stringMatching(/quota/), unusable: 'localstorage' }));
  });

  it('is still created where localStorage throws on every call, and fails its calls instead of throwing', async () => {
    const blocked = createLocalStorageStub();
    blocked.setItem = () => {
      throw quotaExceeded();
    };
    vi.stubGlobal('localStorage', blocked);

    const store = createLocalStorageStore(NAME);

    expect(store.kind).toBe('localstorage');
    await expect(store.load()).rejects.toThrow(/quota/);
    await expect(store.write(put(storedEventNumbered(1)))).rejects.toThrow(/quota/);
  });
});

/** The records of homing's database, read directly: its `queue` object store, by key. */
async function rawRecords(): Promise<{ version: number; stores: string[]; entries: Array<[IDBValidKey, unknown]> }> {
  const db = await promisifyRequest(indexedDB.open(NAME));
  try {
    const store = db.transaction('queue', 'readonly').objectStore('queue');
    const [keys, values] = await Promise.all([promisifyRequest(store.getAllKeys()), promisifyRequest(store.getAll())]);
    return { version: db.version, stores: [...db.objectStoreNames], entries: keys.map((key, i) => [key, values[i]]) };
  } finally {
    db.close();
  }
}

/** Writes records into homing's database as another program (or a corrupting browser) might. */
async function rawPut(records: Array<[IDBValidKey, unknown]>): Promise<void> {
  const db = await promisifyRequest(indexedDB.open(NAME));
  const transaction = db.transaction('queue', 'readwrite');
  for (const [key, value] of records) transaction.objectStore('queue').put(value, key);
  await promisifyRequest(transaction);
  db.close();
}

describe('the IndexedDB store', () => {
  it("keeps each write's puts as one record in database <storageKey>, version 2, object store 'queue', keyed [queue, seq, id, write] by its first event", async () => {
    await createIndexedDbStore(NAME, 'tab-a').write(put(storedEventNumbered(1), storedEventNumbered(2)));

    expect(await rawRecords()).toEqual({ version: 2, stores: ['queue'], entries: [[['tab-a', 1, 'e1', expect.any(Number)], [storedEventNumbered(1), storedEventNumbered(2)]]] });
  });

  it('makes one IndexedDB request for a write of many events', async () => {
    const store = createIndexedDbStore(NAME);
    const requests = vi.spyOn(IDBObjectStore.prototype, 'put');

    await store.write(put(...numbered(1, 100).map((_, i) => storedEventNumbered(i + 1))));

    expect(requests).toHaveBeenCalledTimes(1);
  });

  it("notes the ids removed from a record that still holds events under that record's key, and deletes the record and its notes with its last event", async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(3)));

    await store.write(remove(1, 2));
    const chunk = (await rawRecords()).entries[0]![0] as IDBValidKey[];
    expect((await rawRecords()).entries).toEqual([
      [chunk, [storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(3)]],
      [[...chunk, 1, 'e1'], ['e1', 'e2']],
    ]);
    await store.write(remove(3));

    expect((await rawRecords()).entries).toEqual([]);
  });

  it('removes, on a later page, what an earlier page wrote and partly removed', async () => {
    const earlier = createIndexedDbStore(NAME);
    await earlier.write(put(storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(3)));
    await earlier.write(remove(2));
    const later = createIndexedDbStore(NAME);

    expect(idsOf((await later.load()).events)).toEqual(['e1', 'e3']);
    await later.write(remove(1, 3));

    expect((await rawRecords()).entries).toEqual([]);
  });

  it('writes all of a write or none of it, and after one that failed still knows which stored events are left', async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1), storedEventNumbered(2)));
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementationOnce(() => {
      throw quotaExceeded();
    });

    await expect(store.write({ put: [storedEventNumbered(3)], remove: [storedEventNumbered(1)] })).rejects.toThrow(/quota/);
    await store.write(remove(2));

    expect(await createIndexedDbStore(NAME).load()).toEqual({ events: [storedEventNumbered(1)], invalid: 0 });
  });

  it('moves an event written again (its attempts counted) into the new record, so a later page loads it once, as last written', async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1), storedEventNumbered(2)));

    await store.write(put(storedEventNumbered(1, { attempts: 1 })));

    expect(await createIndexedDbStore(NAME).load()).toEqual({ events: [storedEventNumbered(1, { attempts: 1 }), storedEventNumbered(2)], invalid: 0 });
  });

  it('loads the records of one event each that version 2 first wrote, as one chunk from then on', async () => {
    await createIndexedDbStore(NAME).write(put());
    await rawPut([
      [[QUEUE, 1, 'e1'], storedEventNumbered(1)],
      [[QUEUE, 2, 'e2'], storedEventNumbered(2)],
    ]);
    const store = createIndexedDbStore(NAME);

    expect(await store.load()).toEqual({ events: [storedEventNumbered(1), storedEventNumbered(2)], invalid: 0 });
    expect((await rawRecords()).entries).toEqual([[[QUEUE, 1, 'e1', expect.any(Number)], [storedEventNumbered(1), storedEventNumbered(2)]]]);
    await store.write(remove(1, 2));

    expect((await rawRecords()).entries).toEqual([]);
  });

  it('deletes notes of removed ids whose record is gone, without counting them as invalid', async () => {
    await createIndexedDbStore(NAME).write(put(storedEventNumbered(1)));
    const chunk = (await rawRecords()).entries[0]![0];
    await rawPut([[[QUEUE, 5, 'e5', 1, 5, 'e5'], ['e5']]]);

    expect(await createIndexedDbStore(NAME).load()).toEqual({ events: [storedEventNumbered(1)], invalid: 0 });
    expect((await rawRecords()).entries.map(([key]) => key)).toEqual([chunk]);
  });

  it('discards, deletes and counts records that are not homing events', async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1)));
    await rawPut([
      [[QUEUE, 5, 'someone-else'], { hello: 'world' }],
      [[QUEUE, 7, 'e7'], { ...storedEventNumbered(8), seq: 7, id: 'e7' }],
    ]);

    expect(await store.load()).toEqual({ events: [storedEventNumbered(1)], invalid: 2 });
    expect(await store.load()).toEqual({ events: [storedEventNumbered(1)], invalid: 0 });
    expect((await rawRecords()).entries).toHaveLength(1);
  });

  it("upgrades a version 1 database, dropping its shared 'events' store", async () => {
    await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open(NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore('events');
      open.onsuccess = () => resolve(open.result.close());
      open.onerror = () => reject(open.error);
    });

    await createIndexedDbStore(NAME).write(put(storedEventNumbered(1)));

    expect(await rawRecords()).toMatchObject({ version: 2, stores: ['queue'] });
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

  it('lets another page upgrade its database rather than blocking it, and then fails its calls (a version it does not know)', async () => {
    const store = createIndexedDbStore(NAME);
    await store.write(put(storedEventNumbered(1)));

    await new Promise((resolve, reject) => {
      const upgrade = indexedDB.open(NAME, 3);
      upgrade.onsuccess = () => resolve(upgrade.result.close());
      upgrade.onblocked = () => reject(new Error('the upgrade is blocked by the open connection'));
    });

    await expect(store.write(put(storedEventNumbered(2)))).rejects.toMatchObject({ name: 'VersionError' });
  });

  it('is refused by its backend where the runtime has no IndexedDB', () => {
    vi.stubGlobal('indexedDB', undefined);

    expect(() => createIndexedDbBackend(NAME)).toThrow(/IndexedDB/);
  });

  it('is refused as unusable by its backend where merely reading indexedDB throws (a sandboxed frame)', () => {
    const securityError = new DOMException('access denied', 'SecurityError');
    Object.defineProperty(globalThis, 'indexedDB', {
      configurable: true,
      get() {
        throw securityError;
      },
    });

    expect(() => createIndexedDbBackend(NAME)).toThrow(expect.objectContaining({ unusable: 'indexeddb', cause: securityError }));
  });

  it('is still created where the runtime has no IndexedDB, and fails its calls instead of throwing', async () => {
    vi.stubGlobal('indexedDB', undefined);

    const store = createIndexedDbStore(NAME);

    expect(store.kind).toBe('indexeddb');
    await expect(store.load()).rejects.toThrow(/IndexedDB/);
    await expect(store.write(put(storedEventNumbered(1)))).rejects.toThrow(/IndexedDB/);
  });
});

/** A store of the given kind whose write behaves as told. */
function fakeStore(kind: StoreKind, behaviour: { write?: (calls: number) => Promise<void> | undefined } = {}) {
  const inner = createMemoryStore();
  let writes = 0;
  const store: EventStore = {
    kind,
    load: () => inner.load(),
    write: (changes) => behaviour.write?.(++writes) ?? inner.write(changes),
  };
  return { store, held: async () => idsOf((await inner.load()).events) };
}

/** Writes succeed `n` times, then throw QuotaExceededError. */
const writesFailAfter = (n: number) => (calls: number) => (calls > n ? Promise.reject(quotaExceeded()) : undefined);

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
    await vi.waitFor(() => expect(localStorage.getItem('homing:queue:default')).not.toBeNull());

    expect(JSON.parse(localStorage.getItem('homing:queue:default')!).map((event: StoredEvent) => event.id).length).toBe(3);
    expect(tracker.stats()).toMatchObject({ store: 'localstorage', health: 'degraded' });
    expect(errors.map((error) => error.code)).toEqual(['store_fallback']);
    expect(errors[0]!.message).toMatch(/indexeddb.*localstorage/);

    await tracker.shutdown();
    expect(batches()).toEqual([numbered(1, 3)]);
    expect(localStorage.getItem('homing:queue:default')).toBeNull();
  });
});
