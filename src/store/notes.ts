/**
 * The small notes homing keeps in localStorage beside the queues: the user's ids and consent,
 * the last failure, what the browser carries for a queue. Reading or writing a note never
 * throws: where storage is missing, blocked or full, there is no note, and the caller's own
 * copy in memory is all there is.
 */
import { usableLocalStorage } from './local-storage';

export function readNote(key: string): string | undefined {
  try {
    return usableLocalStorage()?.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

/** `undefined` removes the note. */
export function writeNote(key: string, value: string | undefined): void {
  try {
    const storage = usableLocalStorage();
    if (value === undefined) storage?.removeItem(key);
    else storage?.setItem(key, value);
  } catch {
    // As said above.
  }
}

/** A note holding JSON; `fallback` when it is missing or unreadable. */
export function readJsonNote<T>(key: string, fallback: T): T {
  try {
    return JSON.parse(readNote(key) ?? 'null') ?? fallback;
  } catch {
    return fallback;
  }
}
