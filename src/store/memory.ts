import type { Backend, EventStore, StoredEvent } from './event-store';
import { applyChanges, bySeq } from './event-store';

/** Keeps events for the life of the page or process only; the store of last resort. */
export function createMemoryBackend(): Backend {
  const queues = new Map<string, Map<string, StoredEvent>>();
  return {
    kind: 'memory',
    open(queue) {
      const events = queues.get(queue) ?? queues.set(queue, new Map()).get(queue)!;
      return {
        kind: 'memory',
        load: async () => ({ events: [...events.values()].sort(bySeq), invalid: 0 }),
        write: async (changes) => applyChanges(events, changes),
      };
    },
    queues: async () => [...queues].filter(([, events]) => events.size).map(([name]) => name),
  };
}

export function createMemoryStore(): EventStore {
  return createMemoryBackend().open('');
}
