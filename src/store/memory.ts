import type { EventStore, StoredEvent } from './event-store';
import { applyChanges, sortBySeq } from './event-store';

/** Keeps events for the life of the page or process only; the store of last resort. */
export function createMemoryStore(): EventStore {
  const events = new Map<string, StoredEvent>();
  return {
    kind: 'memory',
    async load() {
      return { events: sortBySeq(events), invalid: 0 };
    },
    async write(changes) {
      applyChanges(events, changes);
    },
  };
}
