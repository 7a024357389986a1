/** Time as homing sees it; tests pass a fake one. */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. Globals are read at call time so fake timers installed later still apply. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(run, ms) {
    const handle = setTimeout(run, ms) as unknown as { unref?: () => void };
    // In Node a pending flush timer must not keep the process alive; `beforeExit` flushes instead.
    if (typeof handle === 'object' && handle.unref) handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Rejects when `promise` has not settled within `ms`: for stores and transports that may never answer. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, clock: Clock = systemClock): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => (clock.clearTimeout(timer), resolve(value)),
      (error) => (clock.clearTimeout(timer), reject(error)),
    );
  });
}

let channel: MessageChannel | undefined;
const queued: Array<() => void> = [];

/**
 * Runs `run` in a task of its own, soon: after the host page's current task, before any timer.
 * setImmediate where there is one (Node); elsewhere a MessageChannel message, which is a task
 * and, unlike setTimeout(0), is never clamped.
 */
export function nextTask(run: () => void): void {
  if (typeof setImmediate === 'function') return void setImmediate(run);
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => queued.shift()?.();
  }
  queued.push(run);
  channel.port2.postMessage(0);
}
