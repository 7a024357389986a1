/**
 * Retry policy, pure: what an answer means, and how long to wait before trying again.
 * Nothing here has side effects; `delivery.ts` applies it.
 */

/** First retry after about a second, as most collectors recover from a blip that fast. */
export const BACKOFF_BASE_MS = 1_000;
/** Never wait more than a minute between tries: an outage should not stall a session's events. */
export const BACKOFF_CAP_MS = 60_000;
/** About a quarter of an hour of full-jitter backoff at the cap before events are given up. */
export const DEFAULT_MAX_ATTEMPTS = 20;
/** A server asking for longer than this is capped: past it the page is likely gone anyway. */
export const RETRY_AFTER_CAP_MS = 10 * 60_000;

export type Verdict = 'delivered' | 'rejected' | 'too-large' | 'retry';

/**
 * What an HTTP status means for the batch that got it (design.md, "What the collector's answer means").
 * Every client error (400, 401, 403, 404, 410, 422, ...) will not get better by resending the same
 * bytes, except 408 and 429; server errors, network errors and anything unexpected are retried.
 */
export function classify(status: number): Verdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 413) return 'too-large';
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'rejected' : 'retry';
}

/** Exponential backoff with full jitter: a uniform wait in [0, min(cap, base * 2^(attempt-1))). */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  let ms: number;
  // A negative delay is malformed but unambiguous: retry now.
  if (/^-?\d+(\.\d+)?$/.test(value)) ms = Number(value) * 1000;
  else {
    // Date.parse reads almost anything ("abc 1" is in 2001); every HTTP date form has a hh:mm:ss time.
    const date = /\d\d:\d\d:\d\d/.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, Math.ceil(ms)));
}
