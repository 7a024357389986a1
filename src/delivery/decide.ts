/**
 * What one answer means for the batch that got it, as a value: which events leave the queue
 * for good and why, which go back to its front, and whether the circuit opens.
 */
import type { StoredEvent } from '../store/event-store';
import type { SendResult } from '../transport/transport';

export type DropReason = 'overflow' | 'rejected' | 'attempts' | 'invalid' | 'tooLarge';

export interface Decision {
  /** Leave the queue: delivered, handed off, or dropped for `drop.reason`. */
  settle: StoredEvent[];
  settled?: 'delivered' | 'handedOff';
  drop?: { reason: DropReason; events: StoredEvent[] };
  /** Back to the front of the queue; `attempted` counts a failed attempt on each. */
  requeue: StoredEvent[];
  attempted?: boolean;
  /** The collector answered: the circuit closes. */
  answered?: boolean;
  /** A retryable failure: the circuit opens, for at least this long when the collector asked. */
  failed?: { retryAfterMs?: number };
  /** 413: bodies this large are refused. */
  refusedBytes?: number;
  /** Whether the send loop may go on with the next batch now. */
  next: boolean;
}

export function decide(batch: StoredEvent[], bytes: number, result: SendResult, maxAttempts: number): Decision {
  switch (result.kind) {
    case 'delivered':
      return { settle: batch, settled: 'delivered', requeue: [], answered: true, next: true };
    case 'handed-off':
      // The browser took it (sendBeacon as the transport): no answer will ever come.
      return { settle: batch, settled: 'handedOff', requeue: [], next: true };
    case 'rejected':
      return { settle: batch, drop: { reason: 'rejected', events: batch }, requeue: [], answered: true, next: true };
    case 'too-large':
      return batch.length > 1
        ? { settle: [], requeue: batch, refusedBytes: bytes, next: true }
        : { settle: batch, drop: { reason: 'tooLarge', events: batch }, requeue: [], next: true };
    case 'retry': {
      const exhausted = batch.filter((event) => event.attempts + 1 >= maxAttempts);
      const again = batch.filter((event) => event.attempts + 1 < maxAttempts);
      return {
        settle: exhausted,
        drop: exhausted.length ? { reason: 'attempts', events: exhausted } : undefined,
        requeue: again,
        attempted: true,
        failed: { retryAfterMs: result.retryAfterMs },
        next: false,
      };
    }
    // Nothing left: not an attempt; the batch waits for the next chance.
    case 'unsent':
      return { settle: [], requeue: batch, next: false };
  }
}
