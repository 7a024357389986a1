import type { Backend, EventStore, StoredEvent } from './event-store';
import { applyChanges, failingStore, unusable, validRecords } from './event-store';

/**
 * Each queue under one localStorage key as a JSON array. Writes are synchronous, which is why
 * a page going away rescues into it what IndexedDB had not confirmed.
 */
export function createLocalStorageBackend(storageKey: string): Backend {
  const storage = probedLocalStorage(storageKey);
  const prefix = `${storageKey}:queue:`;
  const read = (key: string): unknown[] => {
    try {
      const records: unknown = JSON.parse(storage.getItem(key) || '[]');
      return Array.isArray(records) ? records : [records];
    } catch {
      return [null];
    }
  };
  const save = (key: string, events: Map<string, StoredEvent>) => {
    if (events.size) storage.setItem(key, JSON.stringify([...events.values()]));
    else storage.removeItem(key);
  };
  return {
    kind: 'localstorage',
    open(queue) {
      const key = prefix + queue;
      return {
        kind: 'localstorage',
        async load() {
          const loaded = validRecords(read(key));
          if (loaded.invalid) save(key, new Map(loaded.events.map((event) => [event.id, event])));
          return loaded;
        },
        // Synchronous up to the first await: a page in `pagehide` is sure it happened.
        async write(changes) {
          // Rereads the key: a rescue another page wrote meanwhile is kept. Full checks wait for the next load.
          const records = read(key).filter((record): record is StoredEvent => typeof (record as StoredEvent | null)?.id === 'string');
          const events = new Map(records.map((event) => [event.id, event]));
          applyChanges(events, changes);
          save(key, events);
        },
      };
    },
    async queues() {
      const names: string[] = [];
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i);
        if (key?.startsWith(prefix)) names.push(key.slice(prefix.length));
      }
      return names;
    },
  };
}

/** One queue in localStorage, for the `store` option; it never throws, it fails its calls instead. */
export function createLocalStorageStore(storageKey = 'homing', queue = 'default'): EventStore {
  try {
    return createLocalStorageBackend(storageKey).open(queue);
  } catch (error) {
    return failingStore('localstorage', error);
  }
}

/** localStorage, probed: reading it throws where storage is blocked, and in some private modes every call does. */
function probedLocalStorage(storageKey: string): Storage {
  let storage: Storage | undefined;
  try {
    storage = globalThis.localStorage;
    storage?.setItem(`${storageKey}:probe`, '1');
    storage?.removeItem(`${storageKey}:probe`);
  } catch (error) {
    throw unusable('localstorage', error);
  }
  if (!storage) throw new Error('localStorage is not available');
  return storage;
}

/** localStorage, or undefined where there is none or where merely reading it throws (blocked storage). */
export function usableLocalStorage(): Storage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined;
  }
}
