/**
 * Which tab owns which queue, told by Web Locks: each tab holds the lock named after its own
 * queue for as long as the page lives, and the browser frees it when the tab closes, crashes or
 * is discarded. A tab waits for the locks of the other queues it knows of; when one is granted,
 * that queue is an orphan and this tab adopts it. The lock is freed at `pagehide` (a held lock
 * keeps a page out of the back/forward cache) and asked for again at `pageshow`. Where Web Locks
 * are missing or refused (opaque origins, sandboxed frames), the tab simply owns its queue.
 */
export interface Ownership {
  /** Resolves once this tab holds its queue's lock (at once where there are no locks). */
  ready(): Promise<void>;
  /** The page is going away: frees this tab's lock and stops waiting for the others'. */
  leave(): void;
  /** The page is back from the back/forward cache: asks for its lock again. */
  rejoin(): void;
  /**
   * Adopts queue `name` as soon as nobody holds its lock; resolves once it is adopted, if its
   * lock was free, or once this tab waits for it.
   */
  watch(name: string): Promise<void>;
  /** The queues whose locks live tabs hold now. */
  held(): Promise<string[]>;
}

type Locks = Pick<LockManager, 'request' | 'query'>;

export function createOwnership(locks: Locks | undefined, prefix: string, queue: string, adopt: (name: string) => Promise<void>): Ownership {
  /** Whether this tab holds its lock; without locks it simply owns its queue. */
  let owned = !locks;
  /** Who waits for the lock, across a pagehide and the pageshow after it. */
  const waiting: Array<() => void> = [];
  let release = () => {};
  /** Aborts the waits for other tabs' locks. */
  let waits = new AbortController();
  const watching = new Set<string>();

  const own = () => {
    owned = true;
    waiting.splice(0).forEach((resolve) => resolve());
  };
  const request = (name: string, options: LockOptions, callback: (lock: Lock | null) => Promise<unknown>) =>
    new Promise<void>((resolve) => {
      try {
        locks!.request(prefix + name, options, callback).then(() => resolve(), () => resolve());
      } catch {
        resolve();
      }
    });
  const take = () => {
    if (!locks) return;
    const held = new Promise<void>((done) => (release = done));
    let granted = false;
    const grant = () => {
      granted = true;
      own();
      return held;
    };
    // Refused (a SecurityError in an opaque origin): the tab owns its queue all the same.
    void request(queue, {}, grant).then(() => granted || own());
  };
  take();

  return {
    ready: () => (owned ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
    leave() {
      release();
      waits.abort();
      waits = new AbortController();
      // Until it holds its lock again, the page must neither write nor send its queue: another tab may adopt it meanwhile.
      owned = !locks;
    },
    rejoin: take,
    async watch(name) {
      if (!locks || name === queue || watching.has(name)) return;
      watching.add(name);
      let free = false;
      // An orphan's lock is free now: it is adopted before this resolves. A live tab's is waited for.
      await request(name, { ifAvailable: true }, async (lock) => (free = !!lock) && adopt(name));
      if (free) return void watching.delete(name);
      void request(name, { signal: waits.signal }, () => adopt(name)).then(() => watching.delete(name));
    },
    async held() {
      try {
        const { held = [] } = await locks!.query();
        return held.map((lock) => lock.name ?? '').filter((name) => name.startsWith(prefix)).map((name) => name.slice(prefix.length));
      } catch {
        return [];
      }
    },
  };
}

/** Web Locks where the runtime has them and lets this document use them. */
export function usableLocks(): Locks | undefined {
  try {
    const locks = globalThis.navigator?.locks;
    return typeof locks?.request === 'function' ? locks : undefined;
  } catch {
    return undefined;
  }
}
