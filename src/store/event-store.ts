/**
 * Where queued events persist between page loads: the `EventStore` seam, one queue per store.
 * The built-in backends (IndexedDB, localStorage, memory) hold many queues side by side, one
 * per tab, so that a live tab can adopt the queue of a tab that went away.
 */
import { errorMessage } from '../errors';
import { isSendable } from '../capture/plugins';

/** One queued event as it is persisted. */
export interface StoredEvent {
  /** The event's `messageId`: the collector's dedupe key. */
  id: string;
  /** Position in the FIFO: the queue loads in `seq` order, so a requeued batch stays in front. */
  seq: number;
  /** The event serialized once, as it goes in every request body. */
  json: string;
  /** UTF-8 bytes of `json`. */
  bytes: number;
  /** Delivery attempts that ended in a retryable failure. */
  attempts: number;
}

export interface StoreChanges {
  put: StoredEvent[];
  remove: StoredEvent[];
}

export interface LoadedEvents {
  /** In `seq` order. */
  events: StoredEvent[];
  /** Records that were not ours or were corrupted; they were discarded. */
  invalid: number;
}

export type StoreKind = 'indexeddb' | 'localstorage' | 'memory' | 'file' | 'custom';

export interface EventStore {
  readonly kind: StoreKind;
  load(): Promise<LoadedEvents>;
  write(changes: StoreChanges): Promise<void>;
}

/** Many queues in one place; each queue is an `EventStore`. */
export interface Backend {
  readonly kind: StoreKind;
  open(queue: string): EventStore;
  /** The names of the queues that hold events. */
  queues(): Promise<string[]>;
}

/** A record is ours when its fields have their types and its text is an event a collector accepts. */
export function isStoredEvent(value: unknown): value is StoredEvent {
  const record = value as StoredEvent | undefined;
  if (typeof record?.json !== 'string' || typeof record.id !== 'string') return false;
  if (![record.seq, record.bytes, record.attempts].every(Number.isFinite)) return false;
  try {
    const event = JSON.parse(record.json);
    return isSendable(event) && event.messageId === record.id;
  } catch {
    return false;
  }
}

/** Splits loaded records into ours, in `seq` order, and a count of the rest. */
export function validRecords(records: unknown[]): LoadedEvents {
  const events = records.filter(isStoredEvent).sort(bySeq);
  return { events, invalid: records.length - events.length };
}

export const bySeq = (a: StoredEvent, b: StoredEvent) => a.seq - b.seq || (a.id < b.id ? -1 : 1);

/** Applies a write to a map of the events by id. */
export function applyChanges(events: Map<string, StoredEvent>, { put, remove }: StoreChanges): void {
  for (const event of put) events.set(event.id, event);
  for (const event of remove) events.delete(event.id);
}

/** What a backend throws where the runtime has the storage but it refuses to work (blocked, private mode). */
export function unusable(kind: StoreKind, cause: unknown): Error {
  return Object.assign(new Error(errorMessage(cause), { cause }), { unusable: kind });
}

/** A store that fails every call: what a factory returns rather than throwing into the host page. */
export function failingStore(kind: StoreKind, cause: unknown): EventStore {
  const fail = () => Promise.reject(cause);
  return { kind, load: fail, write: fail };
}
