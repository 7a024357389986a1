import type { KeepaliveBudget } from './keepalive-budget';
import type { SendRequest, Transport } from './transport';

/** sendBeacon gives no signal when its body has left; assume it has after this long. */
export const BEACON_SETTLE_MS = 5_000;

/** Hands a request to the browser at once; true when the browser took it. Synchronous: a page going away has no later. */
export type ExitSend = (request: SendRequest) => boolean;

/**
 * navigator.sendBeacon with a string body, so it goes as text/plain;charset=UTF-8: a simple
 * request that needs no CORS preflight, which a page going away could not wait for.
 */
export function createBeacon(url: string, budget: KeepaliveBudget): ExitSend | undefined {
  const navigator = globalThis.navigator;
  if (typeof navigator?.sendBeacon !== 'function') return undefined;
  return ({ body, bytes }) => {
    if (!budget.reserve(bytes)) return false;
    let queued = false;
    try {
      queued = navigator.sendBeacon(url, body);
    } catch {
      // Refused, as when it answers false.
    }
    if (queued) setTimeout(() => budget.release(bytes), BEACON_SETTLE_MS);
    else budget.release(bytes);
    return queued;
  };
}

/** The beacon as the transport of a live page too (`transport: 'beacon'`): every request is handed off. */
export function createBeaconTransport(url: string, budget: KeepaliveBudget): Transport | undefined {
  const beacon = createBeacon(url, budget);
  return beacon && { send: async (request) => (beacon(request) ? { kind: 'handed-off' } : { kind: 'unsent', cause: 'sendBeacon refused' }) };
}
