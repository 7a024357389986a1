/**
 * What one track() call pays for: the platform calls behind it, each timed alone, and a
 * stand-in for `crypto.getRandomValues` that serves bytes from a pool, to measure what the
 * per-event call costs inside track(). Both functions are self-contained: Playwright sends
 * their source to the page, and Node calls them as they are.
 */

/** µs per call of each platform call one track() makes, timed alone after a warm-up. */
export function measurePlatformCalls({ event, iterations }) {
  let sink = 0;
  const time = (call) => {
    for (let i = 0; i < 1000; i++) sink ^= call();
    const started = performance.now();
    for (let i = 0; i < iterations; i++) sink ^= call();
    return ((performance.now() - started) * 1000) / iterations;
  };
  const costs = {
    'crypto.getRandomValues(new Uint8Array(16)), once per event for its uuid': time(() => crypto.getRandomValues(new Uint8Array(16))[0]),
    'JSON.stringify(event), to measure its size': time(() => JSON.stringify(event).length),
    'new Date(now).toISOString(), the timestamp': time(() => new Date(Date.now()).toISOString().length),
  };
  if (globalThis.location && globalThis.document) {
    costs['page context: location.href, .pathname, document.referrer, .title'] = time(
      () => location.href.length + location.pathname.length + document.referrer.length + document.title.length,
    );
  }
  // Kept where the optimizer cannot see it unused, so no call above is optimized away.
  globalThis.benchSink = sink;
  return { costs, eventBytes: JSON.stringify(event).length };
}

/**
 * `true` replaces `crypto.getRandomValues` on this global with a stand-in that refills a 4 KiB
 * pool from the real one only when it runs dry (one platform call per 256 uuids instead of one
 * per uuid); `false` puts the real one back.
 */
export function usePooledRandom(on) {
  const POOL_BYTES = 4096;
  delete crypto.getRandomValues;
  if (!on) return;
  if (!globalThis.benchPooledRandom) {
    const real = crypto.getRandomValues.bind(crypto);
    const pool = new Uint8Array(POOL_BYTES);
    let offset = POOL_BYTES;
    globalThis.benchPooledRandom = (array) => {
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      if (bytes.length > POOL_BYTES) return real(array);
      if (offset + bytes.length > POOL_BYTES) {
        real(pool);
        offset = 0;
      }
      bytes.set(pool.subarray(offset, (offset += bytes.length)));
      return array;
    };
  }
  crypto.getRandomValues = globalThis.benchPooledRandom;
}
