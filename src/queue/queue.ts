/**
 * The bounded FIFO of this tab's events, in memory, so that track() and page hide never wait on
 * storage. Every change is mirrored to the store (write-behind). An event leaves the queue only
 * through `settle` (a final answer or a trusted hand-off), overflow or `clear`.
 */
import type { StoredEvent } from '../store/event-store';

/** Where the queue's changes go: the write-behind to the store. */
export interface QueueMirror {
  put(events: StoredEvent[]): void;
  remove(events: StoredEvent[]): void;
}

export interface Queue {
  /** Events held: waiting plus in flight. */
  readonly size: number;
  /** The events waiting to be taken, oldest first (do not change it). */
  readonly waiting: readonly StoredEvent[];
  /** Adds events at the back; returns the oldest waiting events dropped to make room. */
  push(events: StoredEvent[]): StoredEvent[];
  /** Takes the oldest waiting events: at most `maxCount`, and `maxBytes` unless the first alone is larger. */
  take(maxCount: number, maxBytes: number): StoredEvent[];
  /** The events `take` would take, left in place. */
  peek(maxCount: number, maxBytes: number): StoredEvent[];
  /** A final answer came (or a trusted hand-off): the batch leaves for good. */
  settle(batch: StoredEvent[]): void;
  /** Puts the batch back where it was, in front of what was tracked after it; `attempted` counts a failed attempt. */
  requeue(batch: StoredEvent[], attempted: boolean): void;
  /** Takes in another queue's events (an orphan's), in their order, in front of what was tracked after them. */
  adopt(events: StoredEvent[]): StoredEvent[];
  /** Forgets every waiting event (opt-out). */
  clear(): StoredEvent[];
  /** Forgets waiting events that are not in `kept`: another tab adopted them while this page slept. */
  keepOnly(kept: Set<string>): void;
}

export function createQueue(maxQueueSize: number, mirror: QueueMirror): Queue {
  let waiting: StoredEvent[] = [];
  const inFlight = new Set<StoredEvent>();

  const overflow = () => {
    const dropped = waiting.splice(0, Math.max(0, waiting.length + inFlight.size - maxQueueSize));
    if (dropped.length) mirror.remove(dropped);
    return dropped;
  };

  return {
    get size() {
      return waiting.length + inFlight.size;
    },
    get waiting() {
      return waiting;
    },
    push(events) {
      waiting.push(...events);
      mirror.put(events);
      return overflow();
    },
    take(maxCount, maxBytes) {
      const batch = waiting.splice(0, fitting(waiting, maxCount, maxBytes));
      for (const event of batch) inFlight.add(event);
      return batch;
    },
    peek: (maxCount, maxBytes) => waiting.slice(0, fitting(waiting, maxCount, maxBytes)),
    settle(batch) {
      for (const event of batch) inFlight.delete(event);
      if (batch.length) mirror.remove(batch);
    },
    requeue(batch, attempted) {
      for (const event of batch) {
        inFlight.delete(event);
        if (attempted) event.attempts++;
      }
      if (attempted) mirror.put(batch);
      // Several batches may have been in flight (a page hiding mid-request): each goes back where it was.
      waiting = mergeBySeq(batch, waiting);
    },
    adopt(events) {
      // This queue's own leftovers may hold what this page wrote already.
      const known = new Set([...waiting, ...inFlight].map((event) => event.id));
      const adopted = events.filter((event) => !known.has(event.id));
      waiting = mergeBySeq(adopted, waiting);
      mirror.put(adopted);
      return overflow();
    },
    clear() {
      const dropped = waiting.splice(0);
      if (dropped.length) mirror.remove(dropped);
      return dropped;
    },
    keepOnly(kept) {
      waiting = waiting.filter((event) => kept.has(event.id));
    },
  };
}

/** How many of the first events fit `maxCount` and `maxBytes` (always one, if there is one). */
function fitting(events: StoredEvent[], maxCount: number, maxBytes: number): number {
  let count = 0;
  let bytes = 0;
  while (count < events.length && count < maxCount && (count === 0 || bytes + events[count]!.bytes <= maxBytes)) bytes += events[count++]!.bytes;
  return count;
}

/** Merges two lists each in `seq` order; on a tie the first list's event goes first. */
export function mergeBySeq(first: StoredEvent[], second: StoredEvent[]): StoredEvent[] {
  const merged: StoredEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < first.length && j < second.length) merged.push(first[i]!.seq <= second[j]!.seq ? first[i++]! : second[j++]!);
  return merged.concat(first.slice(i), second.slice(j));
}

/** The last position given, shared by every tracker of this page or process. */
let lastSeq = 0;

/**
 * The next position in the FIFO: milliseconds times 1000 keep order across page loads and tabs,
 * with room for 1000 events per millisecond. Shared by the trackers of one page or process, so
 * that one created in the same millisecond as another never numbers below it.
 */
export function nextSeq(now: number): number {
  return (lastSeq = Math.max(lastSeq + 1, now * 1000));
}
