import { promisifyRequest, type UseStore } from 'idb-keyval';
import type { EventStore, StoredEvent } from './event-store';
import { isStoredEvent, sortBySeq, unusableStore } from './event-store';

/**
 * One record per event in homing's own IndexedDB database (never idb-keyval's shared default),
 * so a write touches only the events that changed.
 */
export function createIndexedDbStore(name: string): EventStore {
  let available: boolean;
  try {
    available = !!globalThis.indexedDB;
  } catch (error) {
    // A sandboxed frame: merely reading `indexedDB` throws a SecurityError.
    throw unusableStore('indexeddb', error);
  }
  if (!available) throw new Error('IndexedDB is not available');
  const db = connect(name, 'events');

  return {
    kind: 'indexeddb',
    async load() {
      const [keys, values] = await db('readonly', (store) =>
        Promise.all([promisifyRequest(store.getAllKeys()), promisifyRequest(store.getAll())]),
      );
      const events: StoredEvent[] = [];
      const invalid: IDBValidKey[] = [];
      values.forEach((value, i) => {
        if (isStoredEvent(value) && value.id === keys[i] && isJson(value)) events.push(value);
        else invalid.push(keys[i]!);
      });
      if (invalid.length) await db('readwrite', (store) => (invalid.forEach((key) => store.delete(key)), promisifyRequest(store.transaction)));
      return { events: sortBySeq(events), invalid: invalid.length };
    },
    write({ put, remove }) {
      return db('readwrite', (store) => {
        for (const event of put) store.put(event, event.id);
        for (const id of remove) store.delete(id);
        // Commit now rather than when the task ends: a page unloading meanwhile may drop it.
        store.transaction.commit?.();
        return promisifyRequest(store.transaction);
      });
    },
  };
}

/** IndexedDB clones what JSON cannot send (cycles, BigInts): such a record would make every request that carries it throw. */
function isJson(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * idb-keyval's `createStore`, plus: when another page deletes or upgrades the database, this
 * connection closes instead of blocking it for as long as the tab lives, and the next
 * transaction opens the database again.
 */
function connect(name: string, storeName: string): UseStore {
  let opening: Promise<IDBDatabase> | undefined;
  const open = () => {
    const request = indexedDB.open(name);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
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
  return (mode, callback) => (opening ||= open()).then((db) => callback(db.transaction(storeName, mode).objectStore(storeName)));
}
