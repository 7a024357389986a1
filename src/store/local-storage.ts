import type { EventStore, StoredEvent } from './event-store';
import { isStoredEvent, sortBySeq } from './event-store';

/**
 * All events under one localStorage key as a JSON array. Every write rereads the key, so
 * events another tab wrote meanwhile are kept.
 */
export function createLocalStorageStore(name: string): EventStore {
  const storage = globalThis.localStorage;
  if (!storage) throw new Error('localStorage is not available');
  const key = `${name}:events`;

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

  // Probe now: in some private modes localStorage exists but every call throws.
  storage.setItem(`${key}:probe`, '1');
  storage.removeItem(`${key}:probe`);

  return {
    kind: 'localstorage',
    async load() {
      const { events, invalid } = read();
      if (invalid) storage.setItem(key, JSON.stringify([...events.values()]));
      return { events: sortBySeq([...events.values()]), invalid };
    },
    async write({ put, remove }) {
      const { events } = read();
      for (const event of put) events.set(event.id, event);
      for (const id of remove) events.delete(id);
      if (events.size) storage.setItem(key, JSON.stringify([...events.values()]));
      else storage.removeItem(key);
    },
  };
}
