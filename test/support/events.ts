import type { HomingEvent } from '../../src/capture/event';
import type { EventStore, StoreChanges, StoredEvent } from '../../src/store/event-store';
import { createMemoryStore } from '../../src/store/memory';

/** A minimal valid track event whose messageId and name are `e<n>`. */
export function eventNumbered(n: number): HomingEvent {
  return {
    type: 'track',
    event: `e${n}`,
    properties: {},
    messageId: `e${n}`,
    anonymousId: 'anonymous',
    timestamp: new Date(0).toISOString(),
    context: { library: { name: 'homing', version: '0.0.0' } },
  };
}

/** The same event as a queue persists it. */
export function storedEventNumbered(n: number, overrides: Partial<StoredEvent> = {}): StoredEvent {
  const json = JSON.stringify(eventNumbered(n));
  return { id: `e${n}`, seq: n, json, bytes: json.length, attempts: 0, ...overrides };
}

/** The event a stored record holds. */
export const eventOf = (stored: StoredEvent): HomingEvent => JSON.parse(stored.json);

export const idsOf = (events: StoredEvent[]) => events.map((event) => event.id);

/** A memory store that records every write it is asked to make. */
export function createCountingStore(inner: EventStore = createMemoryStore()) {
  const writes: StoreChanges[] = [];
  const store: EventStore = {
    get kind() {
      return inner.kind;
    },
    load: () => inner.load(),
    write(changes) {
      writes.push(changes);
      return inner.write(changes);
    },
  };
  return { store, writes };
}
