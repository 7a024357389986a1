/**
 * The bounded FIFO of events waiting for a final answer, mirrored in memory so that track()
 * and page hide never wait on storage, and written behind to an EventStore: all changes made in
 * one task reach the store together, in writes of at most MAX_CHANGES_PER_WRITE.
 *
 * The at-least-once rule lives here: an event leaves the store only through `remove`, after a
 * final answer (delivered, rejected, given up), through overflow, through `clear` (opt-out), or,
 * marked as handed off, when the next page load finds it there.
 */
import type { HomingEvent } from './event';
import type { EventStore, LoadedEvents, StoredEvent } from './store/event-store';
import { sortBySeq } from './store/event-store';
import type { PageExitLog } from './store/page-exit-log';

export interface Queue {
  /** Events held: waiting plus in flight. */
  readonly size: number;
  /** Events waiting to be taken. */
  readonly waiting: number;
  /** Adds an event; returns the events dropped to make room (the oldest waiting ones). */
  enqueue(event: HomingEvent, bytes: number): StoredEvent[];
  /**
   * Takes the oldest waiting events, at most `maxCount` and `maxBytes` (always at least one).
   * With `leaseUntil`, the store marks them as in flight until then, so another tab leaves them
   * alone unless this one dies with them.
   */
  takeBatch(maxCount: number, maxBytes: number, leaseUntil?: number): StoredEvent[];
  /** The batch `takeBatch` would take, left in place. */
  peekBatch(maxCount: number, maxBytes: number): StoredEvent[];
  /** Final answer: forgets the events and deletes them from the store. */
  remove(batch: StoredEvent[]): void;
  /** Puts the batch back in front, in its order; `countAttempt` when it was a failed attempt. */
  requeueFront(batch: StoredEvent[], countAttempt: boolean): void;
  /**
   * The batch went out in a request that outlives the page (keepalive); the store marks it so
   * the next page load does not send it again. It stays in flight here until its answer.
   */
  markHandedOff(batch: StoredEvent[], at: number): void;
  /**
   * The browser owns the batch now (a beacon, no answer to wait for): it leaves memory. With
   * `markedAt`, the store marks it handed off; without, the next page load sends it again.
   */
  handOff(batch: StoredEvent[], markedAt?: number): void;
  /** Merges what earlier page loads left in the store in front of the events tracked since. */
  load(): Promise<LoadedEvents & { overflow: StoredEvent[]; handedOff: number }>;
  /**
   * Takes in, and writes to the store, events another tab rescued as it went away, unless this
   * tab holds them already; returns the events dropped to make room.
   */
  adopt(events: StoredEvent[]): StoredEvent[];
  /** Forgets every waiting event and deletes it from the store (opt-out). */
  clear(): void;
  /**
   * Makes the waiting list what the store holds: events other tabs queued join in order, events
   * other tabs delivered leave, events another tab has in flight (an unexpired lease) wait.
   * Resolves with the time the first of those leases runs out, if any: the tab holding it may
   * have died, so the sender must look again then.
   */
  refresh(isSender: boolean): Promise<number | undefined>;
  /** Another tab removed these from the shared store after a final answer: forget them here. */
  forget(ids: string[]): void;
  /** Resolves once every change made so far has reached the store. */
  persisted(): Promise<void>;
  /** Events whose latest change has not been confirmed by the store yet. */
  unconfirmed(): StoredEvent[];
}

/**
 * Writing thousands of events in one IndexedDB transaction clones them all in one long task;
 * a few hundred at a time keeps each task short and a 1,000-event burst within four writes.
 */
export const MAX_CHANGES_PER_WRITE = 250;

/** Ids of events other tabs removed, remembered until they cannot come back from a stale read. */
const MAX_REMEMBERED_REMOVALS = 10_000;

export interface QueueOptions {
  store: EventStore;
  maxQueueSize: number;
  now: () => number;
  onWriteError: (error: unknown) => void;
  /** Where hand-offs and unconfirmed writes are noted synchronously, for a page that dies before its store write commits. */
  exitLog?: PageExitLog;
  /** Told, after each write, which events it removed: other tabs sharing the store must forget them. */
  onRemoved?: (ids: string[]) => void;
}

export function createQueue({ store, maxQueueSize, now, onWriteError, exitLog, onRemoved }: QueueOptions): Queue {
  let waiting: StoredEvent[] = [];
  const inFlight = new Set<string>();
  /** Handed off by this page: whether marked or not, never this page's to send again. */
  const handedOffHere = new Set<string>();
  /** Removed from the shared store by another tab (a final answer there): not to be written again. */
  const removedElsewhere = new Set<string>();
  // Milliseconds times 1000 keep order across page loads and tabs, with room for 1000 events per ms.
  let lastSeq = 0;
  const nextSeq = () => (lastSeq = Math.max(lastSeq + 1, now() * 1000));

  const changes = new Map<string, StoredEvent | null>();
  let writing: Promise<void> | undefined;
  /** The events of the write under way: not confirmed in the store yet. */
  let writingNow: StoredEvent[] = [];

  const writeChanges = async () => {
    // Yield once so every change made in the current task joins this write.
    await Promise.resolve();
    while (changes.size) {
      const put: StoredEvent[] = [];
      const remove: string[] = [];
      for (const [id, event] of changes) {
        if (put.length + remove.length === MAX_CHANGES_PER_WRITE) break;
        event ? put.push(event) : remove.push(id);
        changes.delete(id);
      }
      writingNow = put;
      try {
        await store.write({ put, remove });
        if (remove.length) onRemoved?.(remove);
      } catch (error) {
        onWriteError(error);
      }
      writingNow = [];
    }
    writing = undefined;
  };
  const change = (id: string, event: StoredEvent | null) => {
    changes.set(id, event);
    writing ||= writeChanges();
  };

  const persisted = async () => {
    while (writing) await writing;
  };

  const markHandedOff = (batch: StoredEvent[], at: number) => {
    for (const event of batch) {
      event.handedOffAt = at;
      change(event.id, event);
    }
  };

  const batchLength = (maxCount: number, maxBytes: number) => {
    let count = 0;
    let bytes = 0;
    while (count < waiting.length && count < maxCount) {
      bytes += waiting[count]!.bytes;
      if (count > 0 && bytes > maxBytes) break;
      count++;
    }
    return count;
  };

  const dropOverflow = (): StoredEvent[] => {
    const excess = waiting.length + inFlight.size - maxQueueSize;
    if (excess <= 0) return [];
    const dropped = waiting.splice(0, excess);
    for (const event of dropped) change(event.id, null);
    return dropped;
  };

  const adopt = (events: StoredEvent[]) => {
    const known = new Set([...waiting.map((event) => event.id), ...inFlight, ...handedOffHere, ...removedElsewhere]);
    const adopted = sortBySeq(events.filter((event) => !known.has(event.id)));
    for (const event of adopted) {
      lastSeq = Math.max(lastSeq, event.seq);
      change(event.id, event);
    }
    waiting = mergeBySeq(adopted, waiting);
    return dropOverflow();
  };

  return {
    get size() {
      return waiting.length + inFlight.size;
    },
    get waiting() {
      return waiting.length;
    },
    enqueue(event, bytes) {
      const stored: StoredEvent = { id: event.messageId, seq: nextSeq(), event, bytes, attempts: 0 };
      waiting.push(stored);
      change(stored.id, stored);
      return dropOverflow();
    },
    takeBatch(maxCount, maxBytes, leaseUntil) {
      const batch = waiting.splice(0, batchLength(maxCount, maxBytes));
      for (const event of batch) {
        inFlight.add(event.id);
        if (leaseUntil) {
          event.leaseUntil = leaseUntil;
          change(event.id, event);
        }
      }
      return batch;
    },
    clear() {
      for (const event of waiting.splice(0)) change(event.id, null);
    },
    peekBatch: (maxCount, maxBytes) => waiting.slice(0, batchLength(maxCount, maxBytes)),
    remove(batch) {
      for (const event of batch) {
        inFlight.delete(event.id);
        change(event.id, null);
      }
    },
    requeueFront(batch, countAttempt) {
      for (const event of batch) {
        inFlight.delete(event.id);
        if (countAttempt) event.attempts++;
        delete event.handedOffAt;
        delete event.leaseUntil;
        change(event.id, event);
      }
      // In front, as a rule; but when several batches were in flight (a page hiding mid-request),
      // each comes back where it was tracked, so a later batch failing last cannot overtake.
      waiting = mergeBySeq(batch, waiting);
    },
    markHandedOff,
    handOff(batch, markedAt) {
      for (const event of batch) {
        inFlight.delete(event.id);
        handedOffHere.add(event.id);
      }
      if (markedAt === undefined) return;
      exitLog?.noteHandOff(batch.map((event) => event.id));
      markHandedOff(batch, markedAt);
    },
    async load() {
      const loaded = await store.load();
      const exit = exitLog?.take();
      const isHandedOff = (event: StoredEvent) => event.handedOffAt || exit?.handedOff.has(event.id);
      const known = new Set(waiting.map((event) => event.id));
      let handedOff = 0;
      const earlier: StoredEvent[] = [];
      for (const event of loaded.events) {
        if (isHandedOff(event)) {
          handedOff++;
          change(event.id, null);
        } else if (!known.has(event.id)) {
          earlier.push(event);
          lastSeq = Math.max(lastSeq, event.seq);
        }
      }
      waiting = earlier.concat(waiting);
      // Events the last page noted as it died, whose write to the store never committed.
      const overflow = adopt((exit?.rescued ?? []).filter((event) => !isHandedOff(event)));
      return { ...loaded, handedOff, overflow };
    },
    adopt,
    async refresh(isSender) {
      await persisted();
      const before = new Set(waiting.map((event) => event.id));
      const { events } = await store.load();
      const at = now();
      // Another tab's beacon may have left before its mark reached the store: its note says so at once.
      const notedHandedOff = exitLog?.handedOff();
      let leaseEnds: number | undefined;
      const stored = events.filter((event) => {
        if (event.handedOffAt || inFlight.has(event.id) || changes.has(event.id) || handedOffHere.has(event.id) || removedElsewhere.has(event.id)) return false;
        if (notedHandedOff?.has(event.id)) return false;
        const leased = (event.leaseUntil ?? 0) > at;
        if (leased) leaseEnds = Math.min(leaseEnds ?? Infinity, event.leaseUntil!);
        return !leased;
      });
      const inStore = new Set(events.map((event) => event.id));
      // Tracked while the store was read, not written yet, or gone from a store wiped under us
      // (cleared, deleted): still only here. What another tab removed after a final answer, it
      // announces; the announcement may come after this read, so only the sender, which alone
      // removes, takes a vanished event for wiped and writes it again.
      const onlyHere = waiting.filter((event) => !inStore.has(event.id) && !removedElsewhere.has(event.id));
      if (isSender) for (const event of onlyHere) if (before.has(event.id) && !changes.has(event.id)) change(event.id, event);
      for (const event of stored) lastSeq = Math.max(lastSeq, event.seq);
      waiting = mergeBySeq(stored, onlyHere);
      return leaseEnds;
    },
    forget(ids) {
      for (const id of ids) removedElsewhere.add(id);
      // Bounded: an id is only needed until the next refresh.
      for (const id of removedElsewhere) {
        if (removedElsewhere.size <= MAX_REMEMBERED_REMOVALS) break;
        removedElsewhere.delete(id);
      }
      waiting = waiting.filter((event) => !removedElsewhere.has(event.id));
    },
    persisted,
    unconfirmed() {
      const latest = new Map(writingNow.map((event) => [event.id, event]));
      for (const [id, event] of changes) event ? latest.set(id, event) : latest.delete(id);
      return [...latest.values()];
    },
  };
}

/** Merges two lists each in `seq` order; on a tie the first list's event goes first. */
function mergeBySeq(first: StoredEvent[], second: StoredEvent[]): StoredEvent[] {
  const merged: StoredEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < first.length && j < second.length) merged.push(first[i]!.seq <= second[j]!.seq ? first[i++]! : second[j++]!);
  return merged.concat(first.slice(i), second.slice(j));
}
