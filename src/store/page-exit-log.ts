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
  rescue(events: StoredEvent[]): void;
  /** The page came back (back/forward cache): its writes went on, the rescue is not needed. */
  forgetRescue(): void;
  take(): { handedOff: Set<string>; rescued: StoredEvent[] };
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
  return {
    noteHandOff: (ids) => write(handedOffKey, read(handedOffKey).concat(ids)),
    rescue: (events) => write(rescuedKey, events),
    forgetRescue: () => write(rescuedKey, undefined),
    take() {
      const handedOff = new Set(read(handedOffKey).filter((id): id is string => typeof id === 'string'));
      const rescued = read(rescuedKey).filter(isStoredEvent);
      write(handedOffKey, undefined);
      write(rescuedKey, undefined);
      return { handedOff, rescued };
    },
  };
}
