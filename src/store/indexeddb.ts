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
    const textOf = (key: IDBValidKey[]) => JSON.stringify(key.slice(0, CHUNK));
    /** A chunk of the events, not known to this page until it is written. */
    const chunkFor = (events: StoredEvent[]): Chunk => ({ key: [queue, events[0]!.seq, events[0]!.id, writes++], live: new Set(events.map((event) => event.id)) });
    const learn = (chunk: Chunk) => chunk.live.forEach((id) => chunkOf.set(id, chunk));

    return {
      kind: 'indexeddb',
      async load() {
        const [keys, values] = await transact('readonly', (store) => Promise.all([promisifyRequest(store.getAllKeys(under([queue]))), promisifyRequest(store.getAll(under([queue])))]));
        const records = keys.map((key, i) => ({ key: key as IDBValidKey[], value: values[i] }));
        const chunks = new Set(records.filter(({ key }) => key.length === CHUNK).map(({ key }) => textOf(key)));
        /** The ids removed from each chunk, by the chunk's key as text. */
        const removed = new Map<string, Set<unknown>>();
        for (const { key, value } of records) {
          if (key.length !== REMOVED) continue;
          const chunk = textOf(key);
          const ids = removed.get(chunk) ?? removed.set(chunk, new Set()).get(chunk)!;
          [value].flat().forEach((id) => ids.add(id));
        }
        chunkOf.clear();
        const events: StoredEvent[] = [];
        let invalid = 0;
        /** Records to delete: what is not ours, notes that outlived their chunk, and what is rewritten. */
        const stale: Array<IDBValidKey | IDBKeyRange> = [];
        const rewritten: StoredEvent[] = [];
        for (const { key, value } of records) {
          if (key.length === REMOVED) {
            if (!chunks.has(textOf(key))) stale.push(key);
            continue;
          }
          const held: unknown[] = key.length === CHUNK || key.length === SINGLE ? [value].flat() : [value];
          const ours = held.filter(isStoredEvent);
          const gone = removed.get(textOf(key));
          const valid = ours.filter((event) => !gone?.has(event.id));
          const bad = held.length - ours.length;
          invalid += bad;
          if (key.length === CHUNK && !bad) learn({ key, live: new Set(valid.map((event) => event.id)) });
          else {
            // A chunk with bad records, or the first layout: rewritten as a chunk of what is valid, so each bad record is counted once.
            stale.push(key.length === CHUNK ? under(key) : key);
            rewritten.push(...valid);
          }
          events.push(...valid);
        }
        if (stale.length) {
          const chunk = rewritten.length ? chunkFor(rewritten) : undefined;
          await transact('readwrite', (store) => {
            for (const key of stale) store.delete(key);
            if (chunk) store.put(rewritten, chunk.key);
            return promisifyRequest(store.transaction);
          });
          if (chunk) learn(chunk);
        }
        return { events: events.sort(bySeq), invalid };
      },
      write({ put, remove }) {
        // A put of an event already stored (its attempts counted) moves it to the new chunk.
        const leaving = new Map<Chunk, StoredEvent[]>();
        for (const event of [...remove, ...put]) {
          const chunk = chunkOf.get(event.id);
          if (chunk) leaving.get(chunk)?.push(event) ?? leaving.set(chunk, [event]);
        }
        const added = put.length ? chunkFor(put) : undefined;
        return transact('readwrite', async (store) => {
          for (const [chunk, events] of leaving) {
            if (chunk.live.size > events.length) store.put(events.map((event) => event.id), [...chunk.key, events[0]!.seq, events[0]!.id]);
            else store.delete(under(chunk.key));
          }
          if (added) store.put(put, added.key);
          // Commit now rather than when the task ends: a page unloading meanwhile may drop it.
          store.transaction.commit?.();
          await promisifyRequest(store.transaction);
          // Learnt only once written: after a failed write, what this page knows is still what is stored.
          for (const [chunk, events] of leaving) events.forEach((event) => chunk.live.delete(event.id) && chunkOf.delete(event.id));
          if (added) learn(added);
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
