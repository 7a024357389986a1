/**
 * What a collector's answer means, pure (design.md, "What the collector's answer means").
 */
export type Verdict = 'delivered' | 'rejected' | 'too-large' | 'retry';

/** A server asking for longer than this is capped: past it the page is likely gone anyway. */
export const RETRY_AFTER_CAP_MS = 10 * 60_000;

/**
 * Every client error (400, 401, 403, 404, 410, 422, ...) will not get better by resending the
 * same bytes, except 408 and 429; server errors and anything unexpected are retried.
 */
export function classify(status: number): Verdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 413) return 'too-large';
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'rejected' : 'retry';
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
