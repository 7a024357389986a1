/**
 * Mirrors the queue's changes to the store behind its back: every change made in one task
 * joins one write, a write waits for the one before it, and a put cancelled before it was
 * written (an overflow, a fast delivery) never reaches the store at all.
 */
import type { QueueMirror } from './queue';
import type { EventStore, StoredEvent } from '../store/event-store';

export interface WriteBehind extends QueueMirror {
  /** Resolves once every change made so far has reached the store (or failed to). */
  persisted(): Promise<void>;
  /** Events put but not confirmed by the store yet: a page going away rescues them. */
  unconfirmed(): StoredEvent[];
}

/**
 * `ready` holds writes back until the tab owns its queue; `mayWrite` says whether storage may
 * be used at all (consent).
 */
export function createWriteBehind(store: EventStore, ready: () => Promise<unknown>, mayWrite: () => boolean, onError: (error: unknown) => void): WriteBehind {
  let puts = new Map<string, StoredEvent>();
  let removes: StoredEvent[] = [];
  let writing: Promise<void> | undefined;
  /** The puts of the write under way. */
  let inWrite = new Set<StoredEvent>();
  /** Ids the store holds, as far as this tab knows: only those need a delete. */
  const inStore = new Set<string>();

  const write = async () => {
    await ready();
    while (mayWrite() && (puts.size || removes.length)) {
      const put = [...puts.values()];
      const remove = removes;
      puts = new Map();
      removes = [];
      inWrite = new Set(put);
      try {
        await store.write({ put, remove });
        for (const event of put) inStore.add(event.id);
        for (const event of remove) inStore.delete(event.id);
      } catch (error) {
        onError(error);
      }
      inWrite = new Set();
    }
    writing = undefined;
  };
  const schedule = () => {
    writing ||= write();
  };

  return {
    put(events) {
      for (const event of events) puts.set(event.id, event);
      schedule();
    },
    remove(events) {
      for (const event of events) puts.delete(event.id);
      // A put never written needs no delete; one under way does.
      const written = events.filter((event) => inStore.has(event.id) || inWrite.has(event));
      if (!written.length) return;
      removes.push(...written);
      schedule();
    },
    async persisted() {
      while (writing) await writing;
    },
    unconfirmed: () => [...inWrite, ...puts.values()],
  };
}
