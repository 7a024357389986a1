/**
 * A FIFO of at most `capacity` items, for the collector's bounded memories: the events it shows
 * and the `messageId`s it remembers for dedupe.
 */

/**
 * @template T
 * @typedef {{ push: (item: T) => T | undefined, latest: (count?: number) => T[], readonly size: number }} Ring
 */

/**
 * Creates a ring: pushing onto a full one drops the oldest item and returns it.
 * @template T
 * @param {number} capacity
 * @returns {Ring<T>}
 */
export function createRing(capacity) {
  /** @type {T[]} */
  const items = [];
  let oldest = 0;
  return {
    push(item) {
      if (items.length < capacity) {
        items.push(item);
        return undefined;
      }
      if (items.length === 0) return item;
      const dropped = items[oldest];
      items[oldest] = item;
      oldest = (oldest + 1) % items.length;
      return dropped;
    },
    latest(count = items.length) {
      const length = Math.min(count, items.length);
      const skipped = items.length - length;
      return Array.from({ length }, (_, i) => /** @type {T} */ (items[(oldest + skipped + i) % items.length]));
    },
    get size() {
      return items.length;
    },
  };
}
