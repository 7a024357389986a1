/**
 * `navigator.locks` as the Web Locks spec has it, for exclusive locks: a request is granted when
 * the lock is free and every earlier request was; the callback runs in a task of its own; the
 * lock is held until the promise the callback returned settles, then passes to the next request.
 */
export function createFakeLocks() {
  const queues = new Map<string, Array<() => void>>();
  const busy = new Set<string>();
  const grantNext = (name: string) => {
    const next = queues.get(name)?.shift();
    if (next) setImmediate(next);
    else busy.delete(name);
  };
  return {
    request(name: string, callback: (lock: { name: string; mode: 'exclusive' }) => unknown): Promise<unknown> {
      return new Promise((resolve, reject) => {
        const grant = async () => {
          try {
            const result = await callback({ name, mode: 'exclusive' });
            grantNext(name);
            resolve(result);
          } catch (error) {
            grantNext(name);
            reject(error);
          }
        };
        if (busy.has(name)) return void (queues.get(name) ?? queues.set(name, []).get(name)!).push(grant);
        busy.add(name);
        setImmediate(grant);
      });
    },
    /** What `navigator.locks.query()` tells: the requests still waiting (held locks are left out here). */
    async query() {
      return { held: [], pending: [...queues].flatMap(([name, waiting]) => waiting.map(() => ({ name, mode: 'exclusive' as const }))) };
    },
    /** Whether any tab holds or waits for the lock. */
    isBusy: (name: string) => busy.has(name),
  };
}
