/**
 * `navigator.locks` as the Web Locks spec has it, for exclusive locks: a request is granted when
 * the lock is free and every earlier request was; the callback runs in a task of its own; the
 * lock is held until the promise the callback returned settles, then passes to the next request.
 * A request's `signal` aborts it while it waits: it rejects with the signal's reason and leaves
 * the queue. With `ifAvailable`, a lock that cannot be granted at once calls back with null.
 * `request(name, callback)` and `request(name, options, callback)` both work.
 */
type Callback = (lock: { name: string; mode: 'exclusive' } | null) => unknown;
type Options = { signal?: AbortSignal; ifAvailable?: boolean };

interface Waiting {
  grant: () => void;
}

export function createFakeLocks() {
  const queues = new Map<string, Waiting[]>();
  const busy = new Set<string>();
  const held = new Set<string>();
  const grantNext = (name: string) => {
    const waiting = queues.get(name) ?? [];
    const next = waiting.shift();
    if (next) setImmediate(next.grant);
    else busy.delete(name);
  };
  return {
    request(name: string, ...args: [Callback] | [Options, Callback]): Promise<unknown> {
      const [options, callback]: [Options, Callback] = args.length === 1 ? [{}, args[0]] : args;
      const { signal } = options;
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const entry: Waiting = {
          grant: async () => {
            signal?.removeEventListener('abort', abort);
            held.add(name);
            try {
              resolve(await callback({ name, mode: 'exclusive' }));
            } catch (error) {
              reject(error);
            } finally {
              held.delete(name);
              grantNext(name);
            }
          },
        };
        /** Only a request still waiting can be aborted: once granted, the abort comes too late. */
        const abort = () => {
          const waiting = queues.get(name) ?? [];
          if (!waiting.includes(entry)) return;
          waiting.splice(waiting.indexOf(entry), 1);
          reject(signal!.reason);
        };
        if (busy.has(name) && options.ifAvailable) {
          // Not granted at once: the callback runs with null, and the request does not wait.
          return void setImmediate(async () => {
            try {
              resolve(await callback(null));
            } catch (error) {
              reject(error);
            }
          });
        }
        if (busy.has(name)) {
          signal?.addEventListener('abort', abort, { once: true });
          return void (queues.get(name) ?? queues.set(name, []).get(name)!).push(entry);
        }
        busy.add(name);
        setImmediate(entry.grant);
      });
    },
    /** What `navigator.locks.query()` tells: the locks held, and the requests still waiting. */
    async query() {
      return {
        held: [...held].map((name) => ({ name, mode: 'exclusive' as const })),
        pending: [...queues].flatMap(([name, waiting]) => waiting.map(() => ({ name, mode: 'exclusive' as const }))),
      };
    },
    /** Whether any tab holds or waits for the lock. */
    isBusy: (name: string) => busy.has(name),
  };
}
