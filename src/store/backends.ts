/**
 * The stores the `store` option names, best first, as the chain's candidates: each queue of this
 * tab and of the others lives in one of them.
 */
import type { StoreOption } from '../options';
import type { Backend, EventStore, StoreKind } from './event-store';
import { createIndexedDbBackend } from './indexeddb';
import { createLocalStorageBackend } from './local-storage';
import { createMemoryBackend } from './memory';

export function backendsFor({ store, storageKey }: { store: StoreOption; storageKey: string }): Array<() => Backend> {
  const indexedDb = () => createIndexedDbBackend(storageKey);
  const localStorage = () => createLocalStorageBackend(storageKey);
  const memory = createMemoryBackend;
  // A custom store is a chain of one: its failures are reported, never fallen back from.
  if (typeof store === 'object') return [() => single(store)];
  return { auto: [indexedDb, localStorage, memory], indexeddb: [indexedDb, memory], localstorage: [localStorage, memory], memory: [memory] }[store];
}

/** A custom store is one queue: nothing to discover in it. */
const single = (store: EventStore): Backend => ({
  get kind(): StoreKind {
    return store.kind ?? 'custom';
  },
  open: () => store,
  queues: async () => [],
});
