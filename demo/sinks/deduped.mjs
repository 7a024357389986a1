/**
 * Gives one sink each `messageId` once, as far as this process remembers: a batch sent again
 * (its answer was lost, or another sink failed it the first time) is written only where it was
 * not yet acknowledged. An id is remembered only after its sink acknowledged it, so a failed
 * write leaves nothing behind that would hide the retry. A write whose ids are being written by
 * another request right now waits for that write, and fails with it.
 *
 * The memory is bounded (`maxRememberedIds`, oldest forgotten first): past it a resend counts as
 * new here, and a log with its own dedupe (JetStream's duplicate window) still drops it.
 */
import { createRing } from '../ring.mjs';

/**
 * @typedef {object} DedupedSink
 * @property {import('./sink.mjs').Sink} sink the sink written to
 * @property {(events: object[]) => Promise<object[]>} write writes the events this sink has not
 *   acknowledged yet, each once, and resolves with them; rejects as the sink does
 * @property {() => void} forget forgets every id (the collector's reset)
 */

/**
 * @param {import('./sink.mjs').Sink} sink
 * @param {number} maxRememberedIds
 * @returns {DedupedSink}
 */
export function createDedupedSink(sink, maxRememberedIds) {
  /** @type {Set<string>} */
  let remembered = new Set();
  /** @type {import('../ring.mjs').Ring<string>} the order `remembered` was filled in, to forget its oldest */
  let order = createRing(maxRememberedIds);
  /** @type {Map<string, Promise<void>>} ids being written now, and the write that carries them */
  const inFlight = new Map();

  function remember(id) {
    remembered.add(id);
    const forgotten = order.push(id);
    if (forgotten !== undefined) remembered.delete(forgotten);
  }

  return {
    sink,
    async write(events) {
      /** @type {object[]} */
      const fresh = [];
      /** @type {Set<string>} */
      const freshIds = new Set();
      /** @type {Set<Promise<void>>} */
      const othersWriting = new Set();
      for (const event of events) {
        const id = /** @type {{ messageId: string }} */ (event).messageId;
        if (remembered.has(id) || freshIds.has(id)) continue;
        const writing = inFlight.get(id);
        if (writing) othersWriting.add(writing);
        else {
          freshIds.add(id);
          fresh.push(event);
        }
      }
      if (fresh.length > 0) {
        const written = sink.write(fresh);
        for (const id of freshIds) inFlight.set(id, written);
        try {
          await written;
        } finally {
          for (const id of freshIds) inFlight.delete(id);
        }
        for (const id of freshIds) remember(id);
      }
      await Promise.all(othersWriting);
      return fresh;
    },
    forget() {
      remembered = new Set();
      order = createRing(maxRememberedIds);
    },
  };
}
