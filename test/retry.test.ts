import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { classify, parseRetryAfter, RETRY_AFTER_CAP_MS } from '../src/delivery/answer';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoff } from '../src/delivery/backoff';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const httpDate = (ms: number) => new Date(ms).toUTCString();
const justUnder1 = 1 - Number.EPSILON;

describe('classify', () => {
  it.each([200, 202, 204])('calls %i delivered', (status) => {
    expect(classify(status)).toBe('delivered');
  });

  it.each([400, 401, 403, 404, 410, 422])('calls %i a permanent rejection', (status) => {
    expect(classify(status)).toBe('rejected');
  });

  it('calls 413 too large', () => {
    expect(classify(413)).toBe('too-large');
  });

  it.each([408, 429, 500, 502, 503, 504])('calls %i retryable', (status) => {
    expect(classify(status)).toBe('retry');
  });
});

describe('backoff', () => {
  it('waits a uniform time in [0, min(cap, base × 2^(attempt−1))): full jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const delay = backoff(attempt, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
      }),
    );
  });

  it('can retry at once, when the random source says 0', () => {
    expect(backoff(5, () => 0)).toBe(0);
  });

  it('doubles its ceiling with each attempt, from about a second', () => {
    const half = () => 0.5;
    expect([1, 2, 3, 4, 5].map((attempt) => backoff(attempt, half))).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
  });

  it('never waits a minute or more, however many attempts failed', () => {
    expect(backoff(7, () => 0.5)).toBe(30_000);
    expect(backoff(8, () => 0.5)).toBe(30_000);
    expect(backoff(1_000, () => justUnder1)).toBeLessThan(60_000);
    expect(backoff(1_000, () => justUnder1)).toBeGreaterThan(59_000);
  });

  it('draws its jitter from the random source it is given', () => {
    const random = vi.fn(() => 0.25);

    expect(backoff(3, random)).toBe(1_000);
    expect(random).toHaveBeenCalledOnce();
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 3 ', NOW)).toBe(3_000);
  });

  it('reads an HTTP date as the time left until then', () => {
    expect(parseRetryAfter(httpDate(NOW + 30_000), NOW)).toBe(30_000);
  });

  it('reads the obsolete RFC 850 date form', () => {
    expect(parseRetryAfter('Tuesday, 01-Jan-30 12:00:10 GMT', NOW)).toBe(10_000);
  });

  it('answers 0 for a date in the past: retry now', () => {
    expect(parseRetryAfter(httpDate(NOW - 60_000), NOW)).toBe(0);
  });

  it('answers 0 for negative seconds', () => {
    expect(parseRetryAfter('-5', NOW)).toBe(0);
  });

  it('answers undefined when the header is absent', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
  });

  it.each(['soon', '1e3', '12abc', 'Infinity'])('answers undefined for garbage such as %j', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });

  it.each(['later 3000', 'abc 1', 'retry in 2030', '1.'])('answers undefined for %j, which a lenient date parser would read as a date', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });

  it('caps what the server asks at ten minutes', () => {
    expect(parseRetryAfter('86400', NOW)).toBe(RETRY_AFTER_CAP_MS);
    expect(parseRetryAfter(httpDate(NOW + 86_400_000), NOW)).toBe(RETRY_AFTER_CAP_MS);
    expect(RETRY_AFTER_CAP_MS).toBe(600_000);
  });
});
