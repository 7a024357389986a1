/**
 * Whether a hand-off at page exit is trusted to arrive. The browser never says whether a beacon
 * did, so homing trusts it unless it has evidence against: the runtime is offline, or a request
 * on this site failed or timed out lately (remembered across page loads, in localStorage).
 */
import { readNote, writeNote } from '../store/notes';

/** A failure this recent makes a hand-off untrusted: the network or the collector may still be down. */
export const DISTRUST_AFTER_FAILURE_MS = 5 * 60_000;

export interface Trust {
  trusted(): boolean;
  /** A request failed or timed out. */
  failed(): void;
}

export function createTrust(storageKey: string, now: () => number, isOnline: () => boolean): Trust {
  const key = `${storageKey}:failedAt`;
  /** This page's last failure: where storage is blocked, only this page's failures count. */
  let failedAt = -Infinity;
  const lastFailure = () => Math.max(failedAt, Number(readNote(key)) || -Infinity);
  return {
    trusted: () => isOnline() && now() - lastFailure() >= DISTRUST_AFTER_FAILURE_MS,
    failed: () => writeNote(key, String((failedAt = now()))),
  };
}
