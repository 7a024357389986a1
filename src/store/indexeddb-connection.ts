/**
 * homing's connection to its IndexedDB database, opened on first use. Every queue's records live
 * in one object store, keyed `[queue, ...]` so that a queue is one key range.
 */
import { promisifyRequest } from 'idb-keyval';

const STORE_NAME = 'queue';
/** Version 2: version 1 held one shared queue in an `events` store. */
const DB_VERSION = 2;

export type Transact = <T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => Promise<T>) => Promise<T>;

/**
 * Opens the database on first use. When another page deletes or upgrades it, this connection
 * closes instead of blocking that page for as long as the tab lives; the next call reopens it.
 */
export function connect(factory: IDBFactory, name: string): Transact {
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
  return (mode, run) =>
    (opening ||= open()).then((db) => {
      const store = db.transaction(STORE_NAME, mode).objectStore(STORE_NAME);
      return run(store).catch((error: unknown) => {
        // A request that threw must not leave the ones before it to commit: a write is all or nothing.
        try {
          store.transaction.abort();
        } catch {
          // Over already.
        }
        throw error;
      });
    });
}
