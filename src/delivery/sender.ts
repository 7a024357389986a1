/**
 * The send loop: one request at a time, oldest events first, each answer applied as `decide`
 * says. A full batch goes right after the task that filled it; a partial one waits for
 * `flushInterval` (a page's first batch for at most FIRST_BATCH_DELAY_MS, so that a short
 * visit ends with its events confirmed rather than beaconed). After a failure the circuit
 * waits out its backoff, then probes with a single event.
 */
import { withTimeout, type Clock } from '../clock';
import type { Queue } from '../queue/queue';
import type { StoredEvent } from '../store/event-store';
import type { KeepaliveBudget } from '../transport/keepalive-budget';
import type { SendResult, Transport } from '../transport/transport';
import type { Circuit } from './backoff';
import { decide, type Decision } from './decide';
import type { Envelope } from './envelope';
import { createTimer } from './timer';

/** A page's first batch leaves within a second of its first event: most visits are short. */
export const FIRST_BATCH_DELAY_MS = 1_000;

export interface SenderOptions {
  queue: Queue;
  transport: Transport;
  envelope: Envelope;
  circuit: Circuit;
  budget: KeepaliveBudget;
  clock: Clock;
  batchSize: number;
  maxBatchBytes: number;
  maxAttempts: number;
  flushInterval: number;
  /** A transport that has not answered by then has failed this attempt. */
  timeoutMs: number;
  /** Whether a request may go now: online, with consent, not stopped. */
  mayAttempt(): boolean;
  /** The page is hidden: it may never run again, so requests must outlive it. */
  hidden(): boolean;
  /** Sending waits for this: the tab owns its queue. */
  ready(): Promise<unknown>;
  /** A request is under way. */
  sent(batch: StoredEvent[], bytes: number): void;
  /** An answer was applied. */
  decided(batch: StoredEvent[], decision: Decision, result: SendResult): void;
}

export interface Sender {
  /** Events were queued: sends soon if a batch is full, else on the interval. */
  schedule(): void;
  /** Sends until the queue is empty, the circuit opens, or sending must wait. */
  flush(): Promise<void>;
  /** The batches in flight in keepalive requests: they outlive the page. Deleting one hands it off. */
  readonly keptAlive: Set<StoredEvent[]>;
  readonly inFlight: number;
  /** `bytes` of body were refused (413): later bodies stay under half of that. */
  refused(bytes: number): void;
  /** Room in a body for events, now. */
  room(limit?: number): number;
  stop(): void;
}

export function createSender(options: SenderOptions): Sender {
  const { queue, envelope, circuit, clock } = options;
  let draining: Promise<void> | undefined;
  let bodyLimit = options.maxBatchBytes;
  let firstSent = false;
  const keptAlive = new Set<StoredEvent[]>();
  const timer = createTimer(clock, () => void flush());

  const send = async (batch: StoredEvent[]) => {
    const { body, bytes } = envelope.wrap(batch, clock.now());
    // Keepalive only while the page is hidden: Chromium refuses back-to-back keepalive requests
    // of a few tens of KiB well under its 64 KiB budget, and a live page does not need them.
    const keepalive = options.hidden() && bytes <= options.budget.available;
    options.sent(batch, bytes);
    firstSent = true;
    if (keepalive) keptAlive.add(batch);
    let sending: Promise<SendResult>;
    try {
      sending = options.transport.send({ body, bytes, keepalive });
    } catch (cause) {
      // A transport is not supposed to throw; one that does (a custom one) fails this attempt only.
      sending = Promise.resolve({ kind: 'retry', cause });
    }
    // A transport that never answers (a custom one, a stuck fetch) must not hold the queue for good.
    const result = await withTimeout(sending, options.timeoutMs, 'the transport', clock).catch((cause: unknown): SendResult => ({ kind: 'retry', cause }));
    // Gone from the set: the page handed it off as it went away, and its answer no longer matters.
    const handedOff = keepalive && !keptAlive.delete(batch);
    return { result, bytes, handedOff };
  };

  const apply = (batch: StoredEvent[], bytes: number, result: SendResult): boolean => {
    const decision = decide(batch, bytes, result, options.maxAttempts);
    queue.settle(decision.settle);
    queue.requeue(decision.requeue, !!decision.attempted);
    if (decision.refusedBytes) sender.refused(decision.refusedBytes);
    if (decision.answered) circuit.answered();
    if (decision.failed) timer.in(circuit.failed(clock.now(), decision.failed.retryAfterMs));
    options.decided(batch, decision, result);
    return decision.next;
  };

  const drain = async () => {
    await options.ready();
    while (queue.waiting.length && options.mayAttempt() && !circuit.wait(clock.now())) {
      // While the collector fails, each probe carries one event: little to lose, little to resend.
      const batch = queue.take(circuit.failures ? 1 : options.batchSize, sender.room());
      const { result, bytes, handedOff } = await send(batch);
      if (handedOff || !apply(batch, bytes, result)) break;
    }
    const wait = circuit.wait(clock.now());
    if (!queue.waiting.length) timer.cancel();
    else if (wait) timer.in(wait);
  };

  const flush = (): Promise<void> =>
    (draining ||= drain()
      .catch(() => {
        // A bug must not wedge sending for good: the next trigger tries again.
      })
      .finally(() => (draining = undefined)));

  const sender: Sender = {
    schedule() {
      const waiting = queue.waiting.length;
      if (!waiting) return;
      if (waiting < options.batchSize) return timer.in(firstSent ? options.flushInterval : Math.min(options.flushInterval, FIRST_BATCH_DELAY_MS));
      // After the burst's task, so a burst of track() calls fills whole batches first.
      if (!draining) queueMicrotask(() => void flush());
    },
    flush,
    keptAlive,
    get inFlight() {
      return draining ? 1 : 0;
    },
    refused(bytes) {
      bodyLimit = Math.min(bodyLimit, Math.floor(bytes / 2));
    },
    room: (limit = bodyLimit) => envelope.room(Math.min(limit, bodyLimit), options.batchSize),
    stop() {
      timer.cancel();
    },
  };
  return sender;
}
