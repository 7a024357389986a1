import type { EventStore, StoredEvent } from './event-store';
import { sortBySeq } from './event-store';

/** Keeps events for the life of the page or process only; the store of last resort. */
export function createMemoryStore(): EventStore {
  const events = new Map<string, StoredEvent>();
  return {
    kind: 'memory',
    async load() {
      return { events: sortBySeq([...events.values()]), invalid: 0 };
    },
    async write({ put, remove }) {
      for (const event of put) events.set(event.id, event);
      for (const id of remove) events.delete(id);
    },
  };
}
