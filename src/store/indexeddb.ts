import { promisifyRequest } from 'idb-keyval';
import { connect } from './indexeddb-connection';
import type { Backend, EventStore, StoredEvent } from './event-store';
import { bySeq, failingStore, isStoredEvent, unusable } from './event-store';

/** Key lengths: a chunk, `[queue, seq, id, write]`; ids removed from it, `[...chunk, seq, id]`; version 2's first layout, one event, `[queue, seq, id]`. */
const CHUNK = 4;
const REMOVED = 6;
const SINGLE = 3;

/** The events one write put, and those of them not removed since. */
interface Chunk {
  key: IDBValidKey[];
  live: Set<string>;
}

/**
 * homing's own IndexedDB database (never idb-keyval's shared default). Each write's puts are one
 * record, a chunk, keyed by its first event and the write: IndexedDB costs per request, and a
 * thousand puts block the page about five times longer than one chunk of a thousand. Removing
 * some of a chunk's events adds a small record of their ids under the chunk's key; removing its
 * last deletes the chunk and those records in one range.
 */
export function createIndexedDbBackend(name: string): Backend {
  let factory: IDBFactory | undefined;
  try {
    factory = globalThis.indexedDB;
  } catch (error) {
    // A sandboxed frame: merely reading `indexedDB` throws a SecurityError.
    throw unusable('indexeddb', error);
  }
  const Range = globalThis.IDBKeyRange;
  if (!factory || !Range) throw new Error('IndexedDB is not available');
  const transact = connect(factory, name);
  /** Numbers this page's chunks apart from each other and, being a time, from earlier pages'. */
  let writes = Date.now();
  /** One store per queue, so that what one load learnt of the chunks serves every later write. */
  const opened = new Map<string, EventStore>();
  // Arrays sort after numbers and strings: [...key, []] is above every key that starts with key.
  const under = (key: IDBValidKey[]) => Range.bound(key, [...key, []]);

  const open = (queue: string): EventStore => {
    /** The chunk holding each event this page loaded or wrote. */
    const chunkOf = new Map<string, Chunk>();
    const textOf = (...parts: unknown[]) => JSON.stringify(parts);
    /** Adds the events as one new chunk. */
    const putChunk = (store: IDBObjectStore, events: StoredEvent[]) => {
      const chunk = { key: [queue, events[0]!.seq, events[0]!.id, writes++], live: new Set(events.map((event) => event.id)) };
      for (const event of events) chunkOf.set(event.id, chunk);
      store.put(events, chunk.key);
    };

    return {
      kind: 'indexeddb',
      async load() {
        const [keys, values] = await transact('readonly', (store) => Promise.all([promisifyRequest(store.getAllKeys(under([queue]))), promisifyRequest(store.getAll(under([queue])))]));
        const records = keys.map((key, i) => ({ key: key as IDBValidKey[], value: values[i] }));
        const chunks = new Set(records.filter(({ key }) => key.length === CHUNK).map(({ key }) => textOf(key)));
        const removed = new Set(records.filter(({ key }) => key.length === REMOVED).flatMap(({ key, value }) => [value].flat().map((id) => textOf(key.slice(0, CHUNK), id))));
        chunkOf.clear();
        const events: StoredEvent[] = [];
        let invalid = 0;
        /** Records to delete: what is not ours, notes that outlived their chunk, and what is rewritten. */
        const stale: Array<IDBValidKey | IDBKeyRange> = [];
        const rewritten: StoredEvent[] = [];
        for (const { key, value } of records) {
          if (key.length === REMOVED) {
            if (!chunks.has(textOf(key.slice(0, CHUNK)))) stale.push(key);
            continue;
          }
          const held: unknown[] = key.length === CHUNK || key.length === SINGLE ? [value].flat() : [value];
          const valid = held.filter(isStoredEvent).filter((event) => !removed.has(textOf(key, event.id)));
          const bad = held.filter((record) => !isStoredEvent(record)).length;
          invalid += bad;
          if (key.length === CHUNK && !bad) {
            const chunk = { key, live: new Set(valid.map((event) => event.id)) };
            for (const event of valid) chunkOf.set(event.id, chunk);
          } else {
            // A chunk with bad records, or the first layout: rewritten as a chunk of what is valid, so each bad record is counted once.
            stale.push(key.length === CHUNK ? under(key) : key);
            rewritten.push(...valid);
          }
          events.push(...valid);
        }
        if (stale.length) {
          await transact('readwrite', (store) => {
            for (const key of stale) store.delete(key);
            if (rewritten.length) putChunk(store, rewritten);
            return promisifyRequest(store.transaction);
          });
        }
        return { events: events.sort(bySeq), invalid };
      },
      write({ put, remove }) {
        return transact('readwrite', (store) => {
          const leaving = new Map<Chunk, StoredEvent[]>();
          // A put of an event already stored (its attempts counted) moves it to the new chunk.
          for (const event of [...remove, ...put]) {
            const chunk = chunkOf.get(event.id);
            if (!chunk?.live.delete(event.id)) continue;
            chunkOf.delete(event.id);
            leaving.get(chunk)?.push(event) ?? leaving.set(chunk, [event]);
          }
          for (const [chunk, events] of leaving) {
            if (chunk.live.size) store.put(events.map((event) => event.id), [...chunk.key, events[0]!.seq, events[0]!.id]);
            else store.delete(under(chunk.key));
          }
          if (put.length) putChunk(store, put);
          // Commit now rather than when the task ends: a page unloading meanwhile may drop it.
          store.transaction.commit?.();
          return promisifyRequest(store.transaction);
        });
      },
    };
  };

  return {
    kind: 'indexeddb',
    open: (queue) => opened.get(queue) ?? opened.set(queue, open(queue)).get(queue)!,
    async queues() {
      const keys = await transact('readonly', (store) => promisifyRequest(store.getAllKeys()));
      return [...new Set(keys.map((key) => (Array.isArray(key) ? String(key[0]) : '')))].filter(Boolean);
    },
  };
}

/** One queue in IndexedDB, for the `store` option; it never throws, it fails its calls instead. */
export function createIndexedDbStore(name = 'homing', queue = 'default'): EventStore {
  try {
    return createIndexedDbBackend(name).open(queue);
  } catch (error) {
    return failingStore('indexeddb', error);
  }
}
