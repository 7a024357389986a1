/**
 * Consent: granted, pending (until the user answers a banner) or refused with optOut(). The
 * user's answer is remembered across page loads; with `honorGlobalPrivacyControl` the browser's
 * Global Privacy Control signal counts as an opt-out until the user opts in on the site.
 */
import { readNote, writeNote } from '../store/notes';

export interface Consent {
  /** Events may be written to storage and sent. */
  readonly granted: boolean;
  /** Events are not even kept. */
  readonly optedOut: boolean;
  optOut(): void;
  optIn(): void;
}

export function createConsent(storageKey: string, pending: boolean, honorGlobalPrivacyControl: boolean): Consent {
  const key = `${storageKey}:consent`;
  let choice = readNote(key);
  // Where storage fails, the choice holds for this page at least.
  const remember = (value: 'in' | 'out') => writeNote(key, (choice = value));
  const gpc = honorGlobalPrivacyControl && (globalThis.navigator as { globalPrivacyControl?: boolean } | undefined)?.globalPrivacyControl === true;
  const optedOut = () => choice === 'out' || (gpc && choice !== 'in');
  return {
    get granted() {
      return choice === 'in' || (!pending && !optedOut());
    },
    get optedOut() {
      return optedOut();
    },
    optOut: () => remember('out'),
    optIn: () => remember('in'),
  };
}
