/**
 * Who the events are about: the anonymous id (kept across page loads), the user id set by
 * identify(), and a session id that rotates after a spell of inactivity, shared by every tab.
 * Kept in localStorage where there is one (read once, written only when something changes),
 * in memory elsewhere, and in memory only while consent is pending.
 */
import { uuidV4, type RandomBytes } from './id';
import { readJsonNote, readNote, writeNote } from '../store/notes';

export interface Identity {
  anonymousId: string;
  userId?: string;
  sessionId: string;
}

/** Refreshing the session's last-seen time more often would write storage on every event. */
const SESSION_TOUCH_INTERVAL_MS = 60_000;

export interface IdentityStore {
  /** The identity for an event tracked now; rotates the session when it expired. */
  current(now: number): Identity;
  setUserId(userId: string): void;
  /** Logout: forgets every id; the next event gets a new anonymous id and session, and no user id. */
  reset(): void;
  /** Consent was given: what was kept in memory is written now. */
  persist(): void;
}

interface Session {
  id: string;
  lastSeen: number;
}

export function createIdentityStore(storageKey: string, random: RandomBytes, sessionTimeout: number, mayStore: () => boolean): IdentityStore {
  const keyOf = (name: string) => `${storageKey}:${name}`;
  const read = (name: string) => readNote(keyOf(name));
  // Where storage fails, the ids live on in memory for this page.
  const write = (name: string, value: string | undefined) => mayStore() && writeNote(keyOf(name), value);
  const readSession = (): Session | undefined => {
    const session = readJsonNote<Partial<Session>>(keyOf('session'), {});
    return typeof session.id === 'string' && typeof session.lastSeen === 'number' ? (session as Session) : undefined;
  };

  let anonymousId = read('anonymousId');
  let userId = read('userId');
  let session = readSession();
  let identity: Identity | undefined;
  const isFresh = (now: number) => !!session && now - session.lastSeen <= sessionTimeout;

  return {
    current(now) {
      // Made with the first event after creation or reset(), so a tracker that never tracks writes nothing.
      if (!anonymousId) write('anonymousId', (anonymousId = uuidV4(random)));
      // Another tab may have kept the session alive meanwhile.
      if (!isFresh(now)) session = readSession();
      if (!isFresh(now)) {
        session = { id: uuidV4(random), lastSeen: -Infinity };
        identity = undefined;
      }
      if (now - session!.lastSeen > Math.min(SESSION_TOUCH_INTERVAL_MS, sessionTimeout / 2)) {
        session!.lastSeen = now;
        write('session', JSON.stringify(session));
      }
      return (identity ||= { anonymousId, userId, sessionId: session!.id });
    },
    setUserId(id) {
      userId = id;
      identity = undefined;
      write('userId', id);
    },
    reset() {
      anonymousId = userId = session = identity = undefined;
      for (const name of ['anonymousId', 'userId', 'session']) write(name, undefined);
    },
    persist() {
      write('anonymousId', anonymousId);
      write('userId', userId);
      write('session', session && JSON.stringify(session));
    },
  };
}
