/**
 * Taking over the queues of tabs that went away. A queue is adopted in full: its events join
 * this tab's queue in their order (they are older than what this tab tracked), except those the
 * browser carried for it (a beacon, a fetchLater), which count as handed off; then it is
 * deleted from every store. Orphans are looked for at start, when another tab of the site
 * writes to localStorage, and now and then.
 */
import type { StoredEvent } from '../store/event-store';
import type { StoreChain } from '../store/store-chain';
import type { CarriedNotes } from './carried';
import type { Ownership } from './ownership';

export interface AdoptionOptions {
  chain: StoreChain;
  carried: CarriedNotes;
  /** Takes the events into this tab's queue. */
  adopt(events: StoredEvent[], carried: StoredEvent[], invalid: number): void;
  /** Resolves once what was taken in is persisted in this tab's queue. */
  persisted(): Promise<void>;
}

export function createAdoption({ chain, carried, adopt, persisted }: AdoptionOptions) {
  /** Reads queue `name` into this tab's queue; resolves with what deletes it from the stores once persisted here. */
  const read = async (name: string) => {
    const { events, invalid } = await chain.read(name);
    const carriedIds = carried.take(name);
    adopt(
      events.filter((event) => !carriedIds.has(event.id)),
      events.filter((event) => carriedIds.has(event.id)),
      invalid,
    );
    return async () => {
      await persisted();
      await chain.forget(name, events);
    };
  };
  return {
    read,
    /** Moves queue `name` (an orphan, or this queue's own leftovers) into this tab's queue. */
    take: async (name: string) => (await read(name))(),
    /**
     * Watches every queue in storage and every queue a live tab holds: each is adopted once its
     * lock is free. Resolves once the orphans found free now are adopted.
     */
    async discover(ownership: Ownership) {
      const names = new Set([...(await chain.others()), ...(await ownership.held())]);
      await Promise.all([...names].map(ownership.watch));
    },
  };
}
