import type { EventStore, StoredEvent } from './event-store';
import { applyChanges, isStoredEvent, sortBySeq, unusableStore } from './event-store';

/**
 * All events under one localStorage key as a JSON array. Every write rereads the key, so
 * events another tab wrote meanwhile are kept.
 */
export function createLocalStorageStore(name: string): EventStore {
  const key = `${name}:events`;
  const storage = probedLocalStorage(key);

  const read = () => {
    const text = storage.getItem(key);
    const events = new Map<string, StoredEvent>();
    let invalid = 0;
    let records: unknown;
    try {
      records = text == null ? [] : JSON.parse(text);
    } catch {
      records = [text];
    }
    for (const record of Array.isArray(records) ? records : [records]) {
      if (isStoredEvent(record)) events.set(record.id, record);
      else invalid++;
    }
    return { events, invalid };
  };
  const save = (events: Map<string, StoredEvent>) => {
    if (events.size) storage.setItem(key, JSON.stringify([...events.values()]));
    else storage.removeItem(key);
  };

  return {
    kind: 'localstorage',
    async load() {
      const { events, invalid } = read();
      if (invalid) save(events);
      return { events: sortBySeq(events), invalid };
    },
    async write(changes) {
      const { events } = read();
      applyChanges(events, changes);
      save(events);
    },
  };
}

/** localStorage, probed: reading it throws where storage is blocked, and in some private modes every call does. */
function probedLocalStorage(key: string): Storage {
  let storage: Storage | undefined;
  try {
    storage = globalThis.localStorage;
    storage?.setItem(`${key}:probe`, '1');
    storage?.removeItem(`${key}:probe`);
  } catch (error) {
    throw unusableStore('localstorage', error);
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
