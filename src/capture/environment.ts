/**
 * What every event says about the runtime: the library, the user agent, the locale and the
 * time zone. Read once per tracker, in the first burst, never inside a host page's call.
 */
import { VERSION } from '../version';
import type { EventContext } from './event';

export type Environment = Pick<EventContext, 'library' | 'userAgent' | 'locale' | 'timezone'>;

interface TemporalNow {
  Now?: { timeZoneId?: () => string };
}

export function readEnvironment(): Environment {
  const environment: Environment = { library: { name: 'homing', version: VERSION } };
  try {
    const navigator = globalThis.navigator;
    if (navigator?.userAgent) environment.userAgent = navigator.userAgent;
    if (navigator?.language) environment.locale = navigator.language;
    // Temporal answers in microseconds; the first Intl.DateTimeFormat() costs 20-60 ms.
    const temporal = (globalThis as { Temporal?: TemporalNow }).Temporal;
    environment.timezone = temporal?.Now?.timeZoneId?.() ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    // Locked-down runtimes: the context is best effort.
  }
  return environment;
}
