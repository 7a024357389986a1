/**
 * Consent: optOut() and optIn(), remembered across page loads in localStorage. While opted out,
 * nothing is stored or sent. With `honorGlobalPrivacyControl`, a browser sending the Global
 * Privacy Control signal counts as opted out until the user opts in on the site.
 */
import { usableLocalStorage } from './store/local-storage';

export interface Consent {
  readonly optedOut: boolean;
  optOut(): void;
  optIn(): void;
}

export function createConsent(storageKey: string, honorGlobalPrivacyControl: boolean): Consent {
  const storage = usableLocalStorage();
  const key = `${storageKey}:consent`;
  let choice: string | null | undefined;
  try {
    choice = storage?.getItem(key);
  } catch {
    // Blocked storage: no remembered choice.
  }
  const remember = (value: 'in' | 'out') => {
    choice = value;
    try {
      storage?.setItem(key, value);
    } catch {
      // The choice holds for this page at least.
    }
  };
  const gpc = honorGlobalPrivacyControl && (globalThis.navigator as { globalPrivacyControl?: boolean } | undefined)?.globalPrivacyControl === true;
  return {
    get optedOut() {
      return choice === 'out' || (gpc && choice !== 'in');
    },
    optOut: () => remember('out'),
    optIn: () => remember('in'),
  };
}
