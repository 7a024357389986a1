/**
 * Browsers allow 64 KiB of keepalive fetch and sendBeacon bodies in flight per page, shared by
 * all of them (https://fetch.spec.whatwg.org/#http-network-or-cache-fetch, "inflight keepalive
 * bytes"). homing counts its own, and leaves part of the budget to the host page.
 */
export const KEEPALIVE_BUDGET_BYTES = 65_536;
/**
 * What homing may have in flight: the host page's own keepalive requests get the other 40 KiB.
 * A fixed share, because at `pagehide` Chromium takes beacons past the page's budget and homing
 * cannot see the host's requests: only its own bound keeps room for them.
 */
export const HOMING_KEEPALIVE_BYTES = 24_576;

export interface KeepaliveBudget {
  readonly available: number;
  /** Reserves `bytes` if they fit; false when they do not. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

export function createKeepaliveBudget(limit = HOMING_KEEPALIVE_BYTES): KeepaliveBudget {
  let used = 0;
  return {
    get available() {
      return limit - used;
    },
    reserve(bytes) {
      if (used + bytes > limit) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used = Math.max(0, used - bytes);
    },
  };
}
