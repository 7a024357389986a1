import { promisifyRequest } from 'idb-keyval';
import type { Backend, EventStore } from './event-store';
import { failingStore, unusable, validRecords } from './event-store';

/** The object store of every queue's records, keyed `[queue, seq, id]` so a queue is one key range. */
const STORE_NAME = 'queue';
/** Version 2: version 1 held one shared queue in an `events` store. */
const DB_VERSION = 2;

/**
 * One record per event in homing's own IndexedDB database (never idb-keyval's shared default),
 * so a write touches only the events that changed, and a delivered batch is one range delete.
 */
export function createIndexedDbBackend(name: string): Backend {
  let factory: IDBFactory | undefined;
  try {
    factory = globalThis.indexedDB;
  } catch (error) {
    // A sandboxed frame: merely reading `indexedDB` throws a SecurityError.
    throw unusable('indexeddb', error);
  }
  const Range = globalThis.IDBKeyRange;
  if (!factory || !Range) throw new Error('IndexedDB is not available');
  const transact = connect(factory, name);

  return {
    kind: 'indexeddb',
    open(queue) {
      // Arrays sort after numbers: [queue, []] is above every [queue, seq, id].
      const range = Range.bound([queue], [queue, []]);
      const keyOf = (event: { seq: number; id: string }) => [queue, event.seq, event.id];
      return {
        kind: 'indexeddb',
        async load() {
          const [keys, values] = await transact('readonly', (store) => Promise.all([promisifyRequest(store.getAllKeys(range)), promisifyRequest(store.getAll(range))]));
          const loaded = validRecords(values);
          if (loaded.invalid) {
            const valid = new Set(loaded.events);
            await transact('readwrite', (store) => {
              values.forEach((value, i) => valid.has(value) || store.delete(keys[i]!));
              return promisifyRequest(store.transaction);
            });
          }
          return loaded;
        },
        write({ put, remove }) {
          return transact('readwrite', (store) => {
            for (const event of put) store.put(event, keyOf(event));
            for (const run of remove) store.delete(run.length > 1 ? Range.bound(keyOf(run[0]!), keyOf(run.at(-1)!)) : keyOf(run[0]!));
            // Commit now rather than when the task ends: a page unloading meanwhile may drop it.
            store.transaction.commit?.();
            return promisifyRequest(store.transaction);
          });
        },
      };
    },
    async queues() {
      const keys = await transact('readonly', (store) => promisifyRequest(store.getAllKeys()));
      return [...new Set(keys.map((key) => (Array.isArray(key) ? String(key[0]) : '')))].filter(Boolean);
    },
  };
}

/** One queue in IndexedDB, for the `store` option; it never throws, it fails its calls instead. */
export function createIndexedDbStore(name = 'homing', queue = 'default'): EventStore {
  try {
    return createIndexedDbBackend(name).open(queue);
  } catch (error) {
    return failingStore('indexeddb', error);
  }
}

type Transact = <T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => Promise<T>) => Promise<T>;

/**
 * Opens the database on first use. When another page deletes or upgrades it, this connection
 * closes instead of blocking that page for as long as the tab lives; the next call reopens it.
 */
function connect(factory: IDBFactory, name: string): Transact {
  let opening: Promise<IDBDatabase> | undefined;
  const open = () => {
    const request = factory.open(name, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (db.objectStoreNames.contains('events')) db.deleteObjectStore('events');
      if (!db.objectStoreNames.contains(STORE_NAME)) db.createObjectStore(STORE_NAME);
    };
    const opened = promisifyRequest(request);
    opened.then(
      (db) => {
        // Closed by the browser (site data cleared): the next transaction opens it again.
        db.onclose = () => (opening = undefined);
        db.onversionchange = () => {
          db.close();
          opening = undefined;
        };
      },
      () => (opening = undefined),
    );
    return opened;
  };
  return (mode, run) => (opening ||= open()).then((db) => run(db.transaction(STORE_NAME, mode).objectStore(STORE_NAME)));
}
