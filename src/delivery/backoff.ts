/**
 * When to try again after a failure: exponential backoff with full jitter, and the circuit that
 * holds every request until then. While the circuit is open the next request is a probe.
 */
/** First retry after about a second, as most collectors recover from a blip that fast. */
export const BACKOFF_BASE_MS = 1_000;
/** Never wait more than a minute between tries: an outage should not stall a session's events. */
export const BACKOFF_CAP_MS = 60_000;

/** A uniform wait in [0, min(cap, base * 2^(attempt-1))). */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface Circuit {
  /** Consecutive failed attempts. */
  readonly failures: number;
  /** Milliseconds until a request may go; 0 when it may go now. */
  wait(now: number): number;
  /** A failed attempt: returns the milliseconds to wait, the longer of the backoff and `retryAfterMs`. */
  failed(now: number, retryAfterMs?: number): number;
  /** The collector answered. */
  answered(): void;
}

export function createCircuit(random?: () => number): Circuit {
  let failures = 0;
  let retryAt = 0;
  return {
    get failures() {
      return failures;
    },
    wait: (now) => Math.max(0, retryAt - now),
    failed(now, retryAfterMs = 0) {
      const delayMs = Math.max(backoff(++failures, random), retryAfterMs);
      retryAt = now + delayMs;
      return delayMs;
    },
    answered() {
      failures = 0;
      retryAt = 0;
    },
  };
}
