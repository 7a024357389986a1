import { vi } from 'vitest';
import type { Clock } from '../../src/clock';

/** Fake timers and Date; microtasks and setImmediate stay real so `settle()` can wait them out. */
export function useFakeTime(now = Date.UTC(2030, 0, 1)): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now });
}

/** Lets every pending promise chain run: resolves after the current macrotask queue drains. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Lets storage finish what it started. fake-indexeddb works in real macrotasks, which fake time
 * does not run: without this, advancing fake time would time out an IndexedDB that is merely busy.
 */
export async function idle(): Promise<void> {
  for (let turn = 0; turn < 30; turn++) await settle();
}

/** Moves fake time forward by `ms`, running the timers due and whatever they set off. */
export async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
}

/** A clock whose timers stop for good once its tab dies, as a crashed or killed tab's would. */
export function mortalClock() {
  let alive = true;
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (run, ms) => setTimeout(() => alive && run(), ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  return { clock, die: () => (alive = false) };
}
