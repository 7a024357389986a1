/**
 * The page is going away (`pagehide`): what is queued leaves now, handed to the browser within
 * the keepalive budget, from memory. A hand-off is trusted to arrive unless there is evidence
 * against it (see trust.ts); trusted, it is counted as handed off and never sent again. Without
 * trust nothing is handed off, and what the browser refuses stays: both wait in storage for a
 * live tab or the next visit.
 */
import type { Clock } from '../clock';
import type { Queue } from '../queue/queue';
import type { StoredEvent } from '../store/event-store';
import type { KeepaliveBudget } from '../transport/keepalive-budget';
import type { ExitSend } from '../transport/beacon';
import type { Transport } from '../transport/transport';
import type { Envelope } from './envelope';
import type { Sender } from './sender';

export interface HandOffOptions {
  queue: Queue;
  sender: Sender;
  envelope: Envelope;
  /** sendBeacon, or a keepalive fetch counted as handed off once it started. */
  exit: ExitSend;
  budget: KeepaliveBudget;
  clock: Clock;
  batchSize: number;
  trusted(): boolean;
  sent(batch: StoredEvent[], bytes: number): void;
  /** The events the browser now carries, trusted to arrive. */
  handedOff(events: StoredEvent[]): void;
}

/**
 * Hands off what is in flight in keepalive requests and what is waiting; returns the events
 * handed off. Synchronous from start to end: a page going away may run nothing after this task.
 */
export function handOff(options: HandOffOptions): StoredEvent[] {
  const { queue, sender, envelope, budget } = options;
  if (!options.trusted()) return [];
  const carried: StoredEvent[] = [];
  const carry = (batch: StoredEvent[]) => {
    queue.settle(batch);
    carried.push(...batch);
    options.handedOff(batch);
  };
  // A keepalive request outlives the page: its batch is the browser's now, answer or not.
  for (const batch of [...sender.keptAlive]) {
    sender.keptAlive.delete(batch);
    carry(batch);
  }
  while (queue.waiting.length) {
    const batch = queue.take(options.batchSize, sender.room(budget.available));
    const { body, bytes } = envelope.wrap(batch, options.clock.now());
    if (bytes > budget.available || !options.exit({ body, bytes, keepalive: true, exit: true })) {
      // Refused: the host page's own keepalive requests fill the budget. The rest waits in storage.
      queue.requeue(batch, false);
      break;
    }
    options.sent(batch, bytes);
    carry(batch);
  }
  return carried;
}

/** A request started at page exit, by keepalive fetch or a custom transport, is handed off: its answer will not be seen. */
export function startedIsHandedOff(transport: Transport, budget?: KeepaliveBudget): ExitSend {
  return (request) => {
    if (budget && request.bytes > budget.available) return false;
    try {
      transport.send(request).catch(() => {});
      return true;
    } catch {
      return false;
    }
  };
}
