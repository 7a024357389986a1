/**
 * One sender per queue: every tab of an origin shares the persisted queue, and only the tab
 * holding this lock sends from it, so two tabs never send the same batch. The lock is a Web
 * Lock (`navigator.locks`) where there is one: the browser frees it when its tab closes or
 * crashes, and the next tab waiting gets it at once. Elsewhere it is a lease in localStorage that
 * its holder renews, which another tab takes over once it has expired. With neither (Node), this
 * runtime is the only sender.
 *
 * Tabs also nudge the sender over a BroadcastChannel when they queued events for it to send.
 */
import type { Clock } from './clock';
import { usableLocalStorage } from './store/local-storage';

export interface SenderLock {
  /** Whether this tab is the sender now. */
  readonly held: boolean;
  /** Asks the sender (in another tab) to send soon. */
  nudge(): void;
  /** Tells the other tabs these events got a final answer here and left the shared store. */
  announceRemoved(ids: string[]): void;
  /**
   * Whether another tab may share the queue: one waits for this lock. Where that cannot be known
   * (no Web Locks), assume so.
   */
  othersWaiting(): Promise<boolean>;
  /** Gives the lock up (page going away); `resume()` asks for it again. */
  release(): void;
  resume(): void;
}

export interface SenderLockEvents {
  /** This tab just became the sender. */
  acquired(): void;
  /** Another tab nudged. */
  nudged(): void;
  /** Another tab removed these events after a final answer. */
  removed(ids: string[]): void;
}

/** A localStorage lease lasts this long unless renewed. */
export const LEASE_MS = 5_000;
/** The holder renews its lease, and the others look for an expired one, this often. */
const LEASE_RENEW_MS = 2_000;

export function createSenderLock(name: string, clock: Clock, on: SenderLockEvents): SenderLock {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
  if (channel) channel.onmessage = ({ data }) => (Array.isArray(data) ? on.removed(data) : on.nudged());
  // In Node a channel with a listener keeps the process alive for good; nudges must not.
  (channel as { unref?: () => void } | undefined)?.unref?.();
  const messages = { nudge: () => channel?.postMessage(0), announceRemoved: (ids: string[]) => channel?.postMessage(ids) };

  if (typeof locks?.request === 'function') {
    let held = false;
    let release: (() => void) | undefined;
    const request = () => {
      if (release) return;
      const released = new Promise<void>((resolve) => (release = resolve));
      locks
        .request(name, () => {
          held = true;
          on.acquired();
          return released;
        })
        .catch(() => {})
        .finally(() => (held = false));
    };
    request();
    return {
      get held() {
        return held;
      },
      ...messages,
      async othersWaiting() {
        try {
          const { pending = [] } = await locks.query();
          return pending.some((lock) => lock.name === name);
        } catch {
          return true;
        }
      },
      release() {
        held = false;
        release?.();
        release = undefined;
      },
      resume: request,
    };
  }

  const storage = usableLocalStorage();
  if (!storage) return { held: true, ...messages, othersWaiting: async () => true, release() {}, resume() {} };
  return createLeaseLock(storage, name, clock, on, messages);
}

function createLeaseLock(
  storage: Storage,
  name: string,
  clock: Clock,
  on: SenderLockEvents,
  messages: Pick<SenderLock, 'nudge' | 'announceRemoved'>,
): SenderLock {
  const me = Math.random().toString(36).slice(2);
  let held = false;
  let timer: unknown;
  const renew = () => {
    const now = clock.now();
    try {
      const [owner, until] = (storage.getItem(name) || ':0').split(':');
      // An unreadable lease (`until` not a number) is as good as expired, not held forever.
      const free = owner === me || !(Number(until) >= now);
      if (free) storage.setItem(name, `${me}:${now + LEASE_MS}`);
      if (free && !held) {
        held = true;
        on.acquired();
      }
      held = free;
    } catch {
      // Storage that throws: behave as the only tab rather than never sending.
      held = true;
    }
    timer = clock.setTimeout(renew, LEASE_RENEW_MS);
  };
  renew();
  return {
    get held() {
      return held;
    },
    ...messages,
    othersWaiting: async () => true,
    release() {
      clock.clearTimeout(timer);
      try {
        if (held) storage.removeItem(name);
      } catch {
        // Storage that throws holds no lease to free.
      }
      held = false;
    },
    resume() {
      clock.clearTimeout(timer);
      renew();
    },
  };
}
