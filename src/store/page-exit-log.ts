import { isStoredEvent, type StoredEvent } from './event-store';
import { usableLocalStorage } from './local-storage';

/**
 * What the page notes synchronously in localStorage as it goes away, because a write to
 * IndexedDB started then may never commit:
 * - the ids of events handed to the browser (sendBeacon), so the next page load does not send
 *   them again;
 * - the events whose store write was not confirmed yet, so the next page load still has them.
 * The next page load takes both.
 */
export interface PageExitLog {
  noteHandOff(ids: string[]): void;
  /** The ids noted as handed off, left in place: a tab taking over sending must skip them too. */
  handedOff(): Set<string>;
  /** Replaces this page's rescue; what other tabs of the origin rescued stays. */
  rescue(events: StoredEvent[]): void;
  /** The page came back (back/forward cache): its writes went on, its rescue is not needed. */
  forgetRescue(): void;
  take(): { handedOff: Set<string>; rescued: StoredEvent[] };
  /** What the tabs that went away rescued, taken by the sender that stays: the rest stays noted. */
  takeRescued(): StoredEvent[];
  /** The localStorage key of the rescue: its `storage` event says another tab just rescued events. */
  readonly rescuedKey: string;
}

export function createPageExitLog(storageKey: string): PageExitLog {
  const storage = usableLocalStorage();
  const handedOffKey = `${storageKey}:handedOff`;
  const rescuedKey = `${storageKey}:rescued`;
  const read = (key: string): unknown[] => {
    try {
      const values: unknown = JSON.parse(storage?.getItem(key) || '[]');
      return Array.isArray(values) ? values : [];
    } catch {
      return [];
    }
  };
  const write = (key: string, values: unknown[] | undefined) => {
    try {
      if (values?.length) storage?.setItem(key, JSON.stringify(values));
      else storage?.removeItem(key);
    } catch {
      // Full or blocked storage: the event store is all there is.
    }
  };
  const handedOff = () => new Set(read(handedOffKey).filter((id): id is string => typeof id === 'string'));
  /** The ids this page put in the rescue: the other tabs of the origin share the key, and keep theirs. */
  let rescuedHere = new Set<unknown>();
  const forgetRescue = () => write(rescuedKey, read(rescuedKey).filter((event) => !rescuedHere.has((event as StoredEvent)?.id)));
  return {
    noteHandOff: (ids) => write(handedOffKey, read(handedOffKey).concat(ids)),
    handedOff,
    rescue(events) {
      // This page's earlier rescue goes, and so does another tab's copy of the same events.
      events.forEach((event) => rescuedHere.add(event.id));
      forgetRescue();
      rescuedHere = new Set(events.map((event) => event.id));
      write(rescuedKey, read(rescuedKey).concat(events));
    },
    forgetRescue,
    takeRescued() {
      const rescued = read(rescuedKey).filter(isStoredEvent);
      write(rescuedKey, undefined);
      return rescued;
    },
    rescuedKey,
    take() {
      const taken = { handedOff: handedOff(), rescued: read(rescuedKey).filter(isStoredEvent) };
      write(handedOffKey, undefined);
      write(rescuedKey, undefined);
      return taken;
    },
  };
}
