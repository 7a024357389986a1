/**
 * Browsers allow 64 KiB of keepalive fetch and sendBeacon bodies in flight per page, shared by
 * all of them (https://fetch.spec.whatwg.org/#http-network-or-cache-fetch, "inflight keepalive
 * bytes"). homing keeps its own count so it never asks for more than the browser will take.
 */
export const KEEPALIVE_BUDGET_BYTES = 65_536;

export interface KeepaliveBudget {
  readonly available: number;
  /** Reserves `bytes` if they fit; false when they do not. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

export function createKeepaliveBudget(limit = KEEPALIVE_BUDGET_BYTES): KeepaliveBudget {
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
