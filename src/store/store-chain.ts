/**
 * The stores a tracker may use, best first (IndexedDB ▸ localStorage ▸ memory). This tab's queue
 * lives in the first that works; when it fails, the queue moves down the chain with every event
 * it holds. Reading another queue (an orphan, or this queue's leftovers) reads every store of
 * the chain, so nothing written to a fallback is stranded there.
 */
import type { Backend, EventStore, LoadedEvents, StoredEvent, StoreKind } from './event-store';
import { withTimeout } from '../clock';
import { applyChanges, bySeq } from './event-store';

/** A store that has not answered by then is treated as broken (an IndexedDB open can stay blocked forever). */
export const STORE_TIMEOUT_MS = 3_000;

export interface StoreChain {
  readonly kind: StoreKind;
  /** This tab's queue in the store in use; it never fails: it falls back. */
  readonly own: EventStore;
  /** The queues, other than this tab's, that hold events in any store of the chain. */
  others(): Promise<string[]>;
  /** Every event of queue `name`, from every store of the chain. */
  read(name: string): Promise<LoadedEvents>;
  /** Deletes what `read` returned, from every store of the chain but the one this tab's queue is in. */
  forget(name: string, events: StoredEvent[]): Promise<void>;
  /** Synchronous where the store is (localStorage): what a page going away writes. */
  rescue(events: StoredEvent[]): void;
}

export type OnFallback = (from: StoreKind, to: StoreKind, cause: unknown) => void;

export function createStoreChain(candidates: Array<() => Backend>, queue: string, onFallback: OnFallback, timeoutMs = STORE_TIMEOUT_MS): StoreChain {
  const backends: Array<Backend | null | undefined> = [];
  /** The first store the runtime has but that refused to work, reported as the first fallback. */
  let refused: unknown;
  const backendAt = (i: number) => {
    if (backends[i] === undefined) {
      try {
        backends[i] = candidates[i]!();
      } catch (error) {
        backends[i] = null;
        // One the runtime lacks is skipped silently; one it has but that refuses to work is a fallback.
        if ((error as { unusable?: StoreKind }).unusable) refused ??= error;
      }
    }
    return backends[i];
  };
  let active = -1;
  let store: EventStore | undefined;
  /** What this tab's queue should hold, so a fallback can carry it over. */
  const held = new Map<string, StoredEvent>();

  const next = (cause: unknown) => {
    const failed = store?.kind;
    store = undefined;
    // The last candidate, memory, always works.
    while (!store && active < candidates.length - 1) store = backendAt(++active)?.open(queue);
    store ??= candidates.at(-1)!().open(queue);
    const from = failed ?? (refused as { unusable?: StoreKind } | undefined)?.unusable;
    if (from) onFallback(from, store.kind, cause ?? refused);
    return store;
  };
  const current = () => store ?? next(undefined);
  const timed = <T>(what: StoreKind, promise: Promise<T>) => withTimeout(promise, timeoutMs, `the ${what} store`);
  const all = () => candidates.map((_, i) => backendAt(i)).filter((backend): backend is Backend => !!backend);

  /**
   * `failed` failed: moves down the chain and rewrites there every event held. The last store
   * has nowhere to go (a custom store is a chain of one): its failure is the caller's to report.
   */
  const fallBack = async (failed: EventStore, cause: unknown, removed: StoredEvent[] = []): Promise<void> => {
    if (active === candidates.length - 1) throw cause;
    while (failed === store) {
      const replacement = next(cause);
      if (!held.size) return;
      // Best effort: copies left behind would come back on the next load, long after their final answer.
      const stale = [...held.values(), ...removed];
      void timed(failed.kind, failed.write({ put: [], remove: stale })).catch(() => {});
      try {
        await timed(replacement.kind, replacement.write({ put: [...held.values()], remove: [] }));
      } catch (error) {
        [failed, cause] = [replacement, error];
      }
    }
  };

  const own: EventStore = {
    get kind() {
      return current().kind;
    },
    async load() {
      return read(queue);
    },
    async write(changes) {
      applyChanges(held, changes);
      const target = current();
      try {
        await timed(target.kind, target.write(changes));
      } catch (error) {
        await fallBack(target, error, changes.remove);
      }
    },
  };

  /**
   * Reads the store in use and every store below it; the one in use failing to read moves the
   * queue down the chain. Rejects only when the last store fails (a custom store).
   */
  const read = async (name: string): Promise<LoadedEvents> => {
    current();
    const byId = new Map<string, StoredEvent>();
    let invalid = 0;
    for (let i = active; i < candidates.length; i++) {
      const target = backendAt(i)?.open(name);
      if (!target) continue;
      try {
        const loaded = await timed(target.kind, target.load());
        for (const event of loaded.events) byId.set(event.id, event);
        invalid += loaded.invalid;
      } catch (error) {
        if (i === active) await fallBack(store!, error);
      }
    }
    return { events: [...byId.values()].sort(bySeq), invalid };
  };

  return {
    get kind() {
      return current().kind;
    },
    own,
    async others() {
      current();
      const names = new Set<string>();
      for (const backend of all()) {
        try {
          for (const name of await timed(backend.kind, backend.queues())) if (name !== queue) names.add(name);
        } catch {
          // As in read().
        }
      }
      return [...names];
    },
    read,
    async forget(name, events) {
      if (!events.length) return;
      for (const backend of all()) {
        const target = backend.open(name);
        if (name === queue && target.kind === current().kind) continue;
        await timed(backend.kind, target.write({ put: [], remove: events })).catch(() => {});
      }
    },
    rescue(events) {
      const sync = all().find((backend) => backend.kind === 'localstorage');
      if (sync && sync.kind !== current().kind && events.length) void sync.open(queue).write({ put: events, remove: [] }).catch(() => {});
    },
  };
}
