import type { KeepaliveBudget } from './keepalive-budget';
import type { Transport } from './transport';

/** sendBeacon gives no signal when its body has left; assume it has after this long. */
export const BEACON_SETTLE_MS = 5_000;

/**
 * navigator.sendBeacon with a string body, so it goes as text/plain;charset=UTF-8: a simple
 * request that needs no CORS preflight, which a page going away could not wait for.
 */
export function createBeaconTransport(endpoint: string, budget: KeepaliveBudget): Transport | undefined {
  const navigator = globalThis.navigator;
  if (typeof navigator?.sendBeacon !== 'function') return undefined;
  return {
    name: 'beacon',
    async send({ body, bytes }) {
      if (!budget.reserve(bytes)) return { kind: 'unsent', cause: 'keepalive budget exhausted' };
      let queued = false;
      try {
        queued = navigator.sendBeacon(endpoint, body);
      } catch (cause) {
        budget.release(bytes);
        return { kind: 'unsent', cause };
      }
      if (!queued) {
        budget.release(bytes);
        return { kind: 'unsent', cause: 'sendBeacon refused the request' };
      }
      setTimeout(() => budget.release(bytes), BEACON_SETTLE_MS);
      return { kind: 'handed-off' };
    },
  };
}
