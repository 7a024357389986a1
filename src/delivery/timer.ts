import type { Clock } from '../clock';

/** One pending wake-up: asking again for an earlier time moves it; a later one is ignored. */
export function createTimer(clock: Clock, run: () => void) {
  let handle: unknown;
  let due = Infinity;
  return {
    /** Runs `run` in `ms` unless it is due sooner already. */
    in(ms: number) {
      const at = clock.now() + ms;
      if (at >= due) return;
      clock.clearTimeout(handle);
      due = at;
      handle = clock.setTimeout(() => {
        due = Infinity;
        run();
      }, ms);
    },
    cancel() {
      clock.clearTimeout(handle);
      due = Infinity;
    },
  };
}
