/**
 * Who the events are about: the anonymous id (kept across page loads), the user id set by
 * identify(), and a session id that rotates after a spell of inactivity. Kept in localStorage
 * where there is one (read once, written only when something changes), in memory elsewhere.
 */
import { uuidV4, type RandomBytes } from './id';
import type { Identity } from './event';
import { usableLocalStorage } from './store/local-storage';

/** Sessions end after 30 minutes without events, as in most analytics tools. */
export const SESSION_TIMEOUT_MS = 30 * 60_000;
/** Refreshing the session's last-seen time more often would write storage on every event. */
const SESSION_TOUCH_INTERVAL_MS = 60_000;

export interface IdentityStore {
  /** The identity for an event tracked now; rotates the session when it expired. */
  current(now: number): Identity;
  setUserId(userId: string): void;
  /** Logout: forgets every id; the next event gets a new anonymous id and session, and no user id. */
  reset(): void;
}

interface Session {
  id: string;
  lastSeen: number;
}

export function createIdentityStore(storageKey: string, random: RandomBytes, sessionTimeout = SESSION_TIMEOUT_MS): IdentityStore {
  const storage = usableLocalStorage();
  const read = (key: string) => {
    try {
      return storage?.getItem(`${storageKey}:${key}`) ?? undefined;
    } catch {
      return undefined;
    }
  };
  const write = (key: string, value: string | undefined) => {
    try {
      if (value === undefined) storage?.removeItem(`${storageKey}:${key}`);
      else storage?.setItem(`${storageKey}:${key}`, value);
    } catch {
      // Full or blocked storage: the id lives on in memory for this page.
    }
  };

  let anonymousId = read('anonymousId') || '';
  let userId = read('userId');
  let session = parseSession(read('session'));
  let identity: Identity | undefined;

  return {
    current(now) {
      // Made with the first event after creation or reset(), so a tracker that never tracks writes nothing.
      if (!anonymousId) write('anonymousId', (anonymousId = uuidV4(random)));
      // Another tab may have kept the session alive meanwhile: sessions are shared by all tabs.
      if (!session || now - session.lastSeen > sessionTimeout) session = parseSession(read('session'));
      if (!session || now - session.lastSeen > sessionTimeout) {
        // Never seen yet: it is stamped and written just below.
        session = { id: uuidV4(random), lastSeen: -Infinity };
        identity = undefined;
      }
      if (now - session.lastSeen > Math.min(SESSION_TOUCH_INTERVAL_MS, sessionTimeout / 2)) {
        session.lastSeen = now;
        write('session', JSON.stringify(session));
      }
      return (identity ||= { anonymousId, userId, sessionId: session.id });
    },
    setUserId(id) {
      userId = id;
      identity = undefined;
      write('userId', id);
    },
    reset() {
      anonymousId = '';
      userId = session = identity = undefined;
      for (const key of ['anonymousId', 'userId', 'session']) write(key, undefined);
    },
  };
}

function parseSession(text: string | undefined): Session | undefined {
  try {
    const session = text ? JSON.parse(text) : undefined;
    return typeof session?.id === 'string' && typeof session.lastSeen === 'number' ? session : undefined;
  } catch {
    return undefined;
  }
}
