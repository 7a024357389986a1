/**
 * The ids of a queue's events that the browser carries for it: handed to sendBeacon as the page
 * went away, or armed in a fetchLater that the browser sends by itself if the tab dies. Noted in
 * localStorage, synchronously, because an IndexedDB write started then may never commit: who
 * adopts the queue counts these as handed off instead of sending them again.
 */
import { readJsonNote, writeNote } from '../store/notes';

export interface CarriedNotes {
  /** Replaces the note of `queue`; an empty list clears it. */
  set(queue: string, ids: string[]): void;
  /** Adds to the note of `queue`. */
  add(queue: string, ids: string[]): void;
  /** Reads and clears the note of `queue`. */
  take(queue: string): Set<string>;
}

export function createCarriedNotes(storageKey: string): CarriedNotes {
  const keyOf = (queue: string) => `${storageKey}:carried:${queue}`;
  const read = (queue: string): string[] => {
    const ids = readJsonNote<unknown>(keyOf(queue), []);
    return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [];
  };
  const notes: CarriedNotes = {
    // Where storage fails, the events may be sent twice, never lost.
    set: (queue, ids) => writeNote(keyOf(queue), ids.length ? JSON.stringify(ids) : undefined),
    add: (queue, ids) => ids.length && notes.set(queue, read(queue).concat(ids)),
    take(queue) {
      const ids = new Set(read(queue));
      notes.set(queue, []);
      return ids;
    },
  };
  return notes;
}
