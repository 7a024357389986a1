/**
 * Where queued events persist between page loads. A store applies batches of changes; the queue
 * decides what they are. `createAutoStore` tries IndexedDB, then localStorage, then memory, and
 * moves down that list whenever the current store fails, carrying every event with it.
 */
import type { HomingEvent } from '../event';
import { errorMessage } from '../sanitize';

/** One queued event as it is persisted. */
export interface StoredEvent {
  /** The event's `messageId`: the key in the store and the collector's dedupe key. */
  id: string;
  /** Position in the FIFO: events load in `seq` order, so a requeued batch stays in front. */
  seq: number;
  event: HomingEvent;
  /** UTF-8 bytes of the serialized event, measured once when it was tracked. */
  bytes: number;
  /** Delivery attempts that ended in a retryable failure. */
  attempts: number;
  /** When the batch holding it was handed to the browser (beacon/keepalive) as the page was going away. */
  handedOffAt?: number;
  /** Until when the tab sending it has it in flight; after that, another tab may send it. */
  leaseUntil?: number;
}

export interface StoreChanges {
  put: StoredEvent[];
  remove: string[];
}

export interface LoadedEvents {
  events: StoredEvent[];
  /** Records under our key that are not ours or are corrupted; they were discarded. */
  invalid: number;
}

export type StoreKind = 'indexeddb' | 'localstorage' | 'memory' | 'file' | 'custom';

export interface EventStore {
  readonly kind: StoreKind;
  load(): Promise<LoadedEvents>;
  write(changes: StoreChanges): Promise<void>;
}

/** A store that has not answered by then is treated as broken (an IndexedDB open can stay blocked forever). */
export const STORE_TIMEOUT_MS = 3_000;

/** A record is ours when its fields have their types and it holds one of our events under its messageId. */
export function isStoredEvent(value: unknown): value is StoredEvent {
  const record = value as Record<string, any> | undefined;
  const event = record?.event;
  return (
    typeof event?.context === 'object' &&
    !!event.context &&
    event.messageId === record!.id &&
    ['track', 'page', 'identify'].includes(event.type) &&
    haveType(record!, ['id'], 'string') &&
    haveType(record!, ['seq', 'bytes', 'attempts'], 'number') &&
    haveType(event, ['anonymousId', 'timestamp'], 'string')
  );
}

const haveType = (object: Record<string, unknown>, keys: string[], type: string) => keys.every((key) => typeof object[key] === type);

/** The events of a map keyed by id, in `seq` order. */
export function sortBySeq(events: Map<string, StoredEvent> | StoredEvent[]): StoredEvent[] {
  return [...events.values()].sort((a, b) => a.seq - b.seq);
}

/** Applies a write to a map of the events by id. */
export function applyChanges(events: Map<string, StoredEvent>, { put, remove }: StoreChanges): void {
  for (const event of put) events.set(event.id, event);
  for (const id of remove) events.delete(id);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error) => (clearTimeout(timer), reject(error)),
    );
  });
}

/** What a store factory throws where the runtime has the storage but it refuses to work (blocked, private mode, full). */
export interface UnusableStoreError extends Error {
  unusable: StoreKind;
}

export function unusableStore(kind: StoreKind, cause: unknown): UnusableStoreError {
  return Object.assign(new Error(errorMessage(cause), { cause }), { unusable: kind });
}

export interface StoreFallback {
  from: StoreKind;
  to: StoreKind;
  cause: unknown;
}

/**
 * Chains stores: starts with the first that loads, and on any failure moves to the next one,
 * rewriting there every event it holds. The last candidate (memory) cannot fail.
 */
export function createAutoStore(
  candidates: Array<() => EventStore>,
  onFallback: (fallback: StoreFallback) => void,
  timeoutMs = STORE_TIMEOUT_MS,
): EventStore {
  let index = -1;
  let current: EventStore | undefined;
  /** What the current store should hold, so a fallback can carry it over. */
  const held = new Map<string, StoredEvent>();

  const next = (cause: unknown): EventStore => {
    let from = current?.kind;
    current = undefined;
    while (!current && ++index < candidates.length) {
      try {
        current = candidates[index]!();
      } catch (error) {
        // One the runtime lacks is skipped silently; one it has but that refuses to work is a fallback to report.
        if (!from) [from, cause] = [(error as Partial<UnusableStoreError>).unusable, error];
      }
    }
    if (!current) throw new Error(`no event store is usable: ${errorMessage(cause)}`);
    if (from) onFallback({ from, to: current.kind, cause });
    return current;
  };

  const active = () => current ?? next(undefined);
  const timed = <T>(store: EventStore, promise: Promise<T>) => withTimeout(promise, timeoutMs, `the ${store.kind} store`);

  /**
   * `failed` failed: moves to the next store and rewrites there every event held. A call that was
   * waiting on the same store finds it replaced already: one failure, one step down the list.
   */
  const replace = async (failed: EventStore, cause: unknown): Promise<EventStore> => {
    while (failed === current) {
      const store = next(cause);
      if (!held.size) break;
      try {
        await timed(store, store.write({ put: [...held.values()], remove: [] }));
      } catch (error) {
        failed = store;
        cause = error;
      }
    }
    return active();
  };

  return {
    get kind() {
      return active().kind;
    },
    async load() {
      let store = active();
      for (;;) {
        try {
          const loaded = await timed(store, store.load());
          for (const event of loaded.events) held.set(event.id, event);
          return loaded;
        } catch (error) {
          store = await replace(store, error);
        }
      }
    },
    async write(changes) {
      applyChanges(held, changes);
      const store = active();
      try {
        await timed(store, store.write(changes));
      } catch (error) {
        await replace(store, error);
      }
    },
  };
}
