/**
 * This tab's queue and its place among the other tabs': the store chain it persists in, the
 * lock that says it is alive, the write-behind, and the adoption of orphaned queues. Where the
 * queue is not shared (a custom store, no Web Locks) it has a fixed name and its leftovers from
 * earlier page loads or processes are adopted at start, like an orphan.
 */
import { systemClock } from '../clock';
import type { ResolvedOptions } from '../options';
import { createQueue, type Queue } from '../queue/queue';
import { createWriteBehind, type WriteBehind } from '../queue/write-behind';
import { backendsFor } from '../store/backends';
import type { StoredEvent } from '../store/event-store';
import { createStoreChain, type OnFallback, type StoreChain } from '../store/store-chain';
import { createAdoption } from './adoption';
import { createCarriedNotes } from './carried';
import { createOwnership, usableLocks, type Ownership } from './ownership';
import { writeNote } from '../store/notes';

/** Besides the `storage` event and start, orphans are looked for this often. */
export const DISCOVERY_INTERVAL_MS = 30_000;
/** How long an orphan's localStorage is given to reach this tab before it is read. */
export const ORPHAN_SETTLE_MS = 250;

export interface TabQueueEvents {
  fellBack: OnFallback;
  writeFailed(error: unknown): void;
  /** Events adopted from another queue joined this one; `dropped` made room. */
  adopted(events: StoredEvent[], dropped: StoredEvent[]): void;
  /** Events of an adopted queue that the browser carried (a beacon, a fetchLater). */
  carried(events: StoredEvent[]): void;
  corrupt(count: number): void;
}

export interface TabQueue {
  readonly queue: Queue;
  readonly writes: WriteBehind;
  readonly chain: StoreChain;
  /** This tab's queue's name. */
  readonly name: string;
  readonly ownership: Ownership;
  /** Resolves once this tab may write its queue and send it: it owns it, and its leftovers are in. */
  ready(): Promise<void>;
  /** Adopts leftovers and orphans; resolves once the first of them are in. Not before consent: it reads storage. */
  start(): Promise<void>;
  discover(): void;
  /** A fetchLater now carries these events should the tab die (none: disarmed). */
  armed(events: StoredEvent[]): void;
  /** The page is going away: notes what the browser carries, rescues what is unconfirmed (unless `rescue` is false), frees the lock. */
  leave(carried: StoredEvent[], rescue?: boolean): void;
  /** Back from the back/forward cache: takes the lock again, and forgets what another tab adopted meanwhile. */
  rejoin(): Promise<void>;
}

export function createTabQueue(options: ResolvedOptions, mayWrite: () => boolean, on: TabQueueEvents): TabQueue {
  const { storageKey } = options;
  const builtIn = typeof options.store === 'string';
  const locks = builtIn && options.store !== 'memory' ? usableLocks() : undefined;
  const name = locks ? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` : 'default';
  const chain = createStoreChain(backendsFor(options), name, on.fellBack);
  const carriedNotes = createCarriedNotes(storageKey);
  const adoption = createAdoption({
    chain,
    carried: carriedNotes,
    adopt(events, carried, invalid) {
      if (invalid) on.corrupt(invalid);
      if (carried.length) on.carried(carried);
      if (events.length) on.adopted(events, queue.adopt(events));
    },
    persisted: () => writes.persisted(),
  });
  const clock = options.clock ?? systemClock;
  // Chromium syncs localStorage between processes a moment after a write: the last notes of a tab
  // that just went away (what the browser carries, what it rescued) reach this tab after its lock is free.
  const settled = () => new Promise<void>((resolve) => clock.setTimeout(resolve, ORPHAN_SETTLE_MS));
  const ownership = createOwnership(locks, `${storageKey}:`, name, (orphan) => settled().then(() => adoption.take(orphan)));
  /** Without locks the queue has a fixed name: its leftovers are read in, at start, before anything is written to it. */
  let leftovers: ReturnType<typeof adoption.read> | undefined;
  /** Writes wait for the lock (and without locks, for the leftovers to be read in). */
  const writable = async () => {
    await ownership.ready();
    await leftovers?.catch(() => {});
  };
  const writes = createWriteBehind(chain.own, writable, mayWrite, on.writeFailed);
  const queue = createQueue(options.maxQueueSize, writes);
  let discovering: Promise<void> | undefined;
  const discover = () => {
    if (!locks) return Promise.resolve();
    return (discovering ||= adoption.discover(ownership).finally(() => (discovering = undefined)));
  };
  /** The first round of adoption: sending waits for it, so that earlier loads' events go first. */
  let started: Promise<unknown> = Promise.resolve();
  let timer: unknown;
  const discoverNowAndThen = () => {
    const round = discover();
    timer = clock.setTimeout(discoverNowAndThen, DISCOVERY_INTERVAL_MS);
    return round;
  };

  return {
    queue,
    writes,
    chain,
    name,
    ownership,
    ready: async () => {
      await writable();
      await started;
    },
    start() {
      if (!locks) {
        leftovers = ownership.ready().then(() => adoption.read(name));
        leftovers.catch(on.writeFailed);
      }
      started = (async () => {
        await ownership.ready();
        if (leftovers) return (await leftovers)();
        // Announced, so that live tabs wait for this tab's lock and adopt its queue should it die.
        announce(storageKey, name);
        await discoverNowAndThen();
      })().catch(() => {});
      return started as Promise<void>;
    },
    discover: () => void discover(),
    armed: (events) => carriedNotes.set(name, events.map((event) => event.id)),
    leave(carried, rescue = true) {
      // Added to: what is tracked after pagehide leaves in a hand-off of its own.
      carriedNotes.add(name, carried.map((event) => event.id));
      const handedOff = new Set(carried);
      if (rescue) chain.rescue(writes.unconfirmed().filter((event) => !handedOff.has(event)));
      ownership.leave();
      clock.clearTimeout(timer);
    },
    rejoin() {
      ownership.rejoin();
      // Sending waits for this: what another tab adopted meanwhile must not be sent from here again.
      started = (async () => {
        await ownership.ready();
        carriedNotes.take(name);
        const { events } = await chain.read(name);
        queue.keepOnly(new Set(events.map((event) => event.id)));
        await chain.forget(name, events);
        if (locks) await discoverNowAndThen();
      })().catch(() => {});
      return started as Promise<void>;
    },
  };
}

/** A write other tabs of the site see as a `storage` event; without storage they find this tab when they look now and then. */
const announce = (storageKey: string, name: string) => writeNote(`${storageKey}:hello`, name);
