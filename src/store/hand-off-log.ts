import { usableLocalStorage } from './local-storage';

/**
 * The ids of events handed to the browser (sendBeacon) as the page went away, noted at once in
 * localStorage: a write to IndexedDB started while the page dies may never commit, and without
 * this note the next page load would send them again.
 */
export interface HandOffLog {
  note(ids: string[]): void;
  /** The ids noted since the last call, forgotten as they are returned. */
  take(): Set<string>;
}

export function createHandOffLog(storageKey: string): HandOffLog {
  const storage = usableLocalStorage();
  const key = `${storageKey}:handedOff`;
  const read = (): string[] => {
    try {
      const ids: unknown = JSON.parse(storage?.getItem(key) || '[]');
      return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
    } catch {
      return [];
    }
  };
  return {
    note(ids) {
      try {
        storage?.setItem(key, JSON.stringify(read().concat(ids)));
      } catch {
        // Full or blocked: the mark written to the event store is all there is.
      }
    },
    take() {
      const ids = new Set(read());
      try {
        if (ids.size) storage?.removeItem(key);
      } catch {
        // Blocked storage holds no note either.
      }
      return ids;
    },
  };
}
