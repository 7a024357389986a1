/**
 * Moving events from the queue to the collector: one request at a time in order, the retry
 * policy applied to each answer, and a circuit breaker that, after a failure, waits out the
 * backoff and probes with a single event before sending full batches again.
 */
import { utf8Length } from './bytes';
import type { Clock } from './clock';
import type { Queue } from './queue';
import type { SenderLock } from './sender-lock';
import { backoff } from './retry';
import type { StoredEvent } from './store/event-store';
import type { DeferredRequest } from './transport/fetch-later';
import type { KeepaliveBudget } from './transport/keepalive-budget';
import type { SendResult, Transport } from './transport/transport';

export type DropReason = 'overflow' | 'rejected' | 'attempts' | 'invalid' | 'tooLarge';

/** What delivery tells the tracker, which keeps the counts and emits the public events. */
export interface DeliveryReport {
  sent(batch: StoredEvent[], bytes: number): void;
  delivered(batch: StoredEvent[]): void;
  dropped(reason: DropReason, batch: StoredEvent[], detail: string): void;
  retry(batch: StoredEvent[], attempt: number, delayMs: number, detail: string): void;
  failed(error: unknown): void;
}

export interface DeliveryOptions {
  queue: Queue;
  /** Used while the page lives; its answers decide each batch's fate. */
  transport: Transport;
  /** Used when the page goes away, where no answer can be waited for. */
  beacon?: Transport;
  /** Kept armed with the oldest waiting events, for a page that dies without `pagehide`. */
  deferred?: DeferredRequest;
  budget: KeepaliveBudget;
  batchSize: number;
  maxBatchBytes: number;
  maxAttempts: number;
  flushInterval: number;
  writeKey?: string;
  clock: Clock;
  /** Default Math.random. */
  random?: () => number;
  isOnline: () => boolean;
  report: DeliveryReport;
  /** Sending waits for this: events left by earlier page loads go first. */
  ready: Promise<unknown>;
  /** Only the holder sends; other tabs leave their events in the shared store for it. */
  sender: Pick<SenderLock, 'held' | 'nudge' | 'othersWaiting'>;
  /** The store is shared with other tabs: while they wait for the lock, or after they wrote, reread it before sending, and lease what is in flight. */
  shared: boolean;
  /** How long a batch in flight is leased to this tab: past the request timeout. */
  leaseMs: number;
}

export interface Delivery {
  /** After an event was queued: sends soon if a batch is full, else on the interval. */
  schedule(): void;
  /** Sends until the queue is empty, the collector fails, or the runtime is offline. */
  flush(): Promise<void>;
  /**
   * The page is hiding (`visibilitychange`) or going away (`pagehide`): hands every waiting
   * event to the browser right now, from memory, within the keepalive budget.
   */
  handOff(pageIsGoing: boolean): void;
  /** Consecutive failed attempts; above zero the circuit waits out its backoff, then probes. */
  readonly failures: number;
  readonly inFlight: number;
  /** Re-arms the deferred request (fetchLater) with what is waiting now. */
  rearm(): void;
  /** Another tab wrote to the shared store (it nudged, or it died holding the lock): reread it before sending. */
  storeChanged(): void;
  stop(): void;
}

/** How recent an answer from the collector must be for a hand-off to be trusted to arrive. */
export const HANDOFF_TRUST_MS = 60_000;
/** While the collector is failing, each probe carries one event: little to lose, little to resend. */
const PROBE_BATCH_SIZE = 1;
/** `{"batch":[],"sentAt":"<24 characters>","writeKey":""}` and then some. */
const ENVELOPE_BYTES = 80;

export function createDelivery(options: DeliveryOptions): Delivery {
  const { queue, transport, beacon, budget, batchSize, maxBatchBytes, maxAttempts, clock, report } = options;
  let draining: Promise<void> | undefined;
  let timer: unknown;
  let timerDue = Infinity;
  let failures = 0;
  /** When the collector last answered (2xx or a rejection): proof that it is reachable. */
  let lastAnswerAt = -Infinity;
  /**
   * A hand-off is trusted to arrive only while the collector has answered lately; otherwise it
   * may not have left (a dead network that still says online), and the next page load sends it
   * again: a duplicate the collector drops rather than an event lost.
   */
  const handOffMark = () => (clock.now() - lastAnswerAt < HANDOFF_TRUST_MS ? clock.now() : undefined);
  /** No request before this time: backoff after a failure, or the collector's Retry-After. */
  let retryAt = 0;
  /** Batch sizes forced by 413 answers: the two halves of a batch that was too large. */
  const splitSizes: number[] = [];
  let inFlight = 0;
  let stopped = false;
  let flushQueued = false;
  /** Other tabs wait for the lock: each batch sent is leased, so none of them sends it too. */
  let sharing = options.shared;
  let storeChanged = true;

  const arm = (ms: number) => {
    const due = clock.now() + ms;
    if (stopped || due >= timerDue) return;
    clock.clearTimeout(timer);
    timerDue = due;
    timer = clock.setTimeout(() => {
      timerDue = Infinity;
      void flush();
    }, ms);
  };

  /** Bytes left for events in a body of `limit` bytes: the envelope and the commas take the rest. */
  const room = (limit: number) => limit - ENVELOPE_BYTES - 3 * (options.writeKey?.length ?? 0) - batchSize;

  const envelope = (batch: StoredEvent[]) => {
    const body = JSON.stringify({
      batch: batch.map((stored) => stored.event),
      sentAt: new Date(clock.now()).toISOString(),
      // An empty writeKey is left out (JSON.stringify skips undefined).
      writeKey: options.writeKey || undefined,
    });
    return { body, bytes: utf8Length(body) };
  };

  /** Re-arms the deferred request once per task, with what is waiting now. */
  let rearmQueued = false;
  const rearm = () => {
    const { deferred } = options;
    if (!deferred || rearmQueued) return;
    rearmQueued = true;
    queueMicrotask(() => {
      rearmQueued = false;
      const batch = queue.peekBatch(batchSize, room(maxBatchBytes));
      if (stopped || !batch.length || !options.sender.held || !options.isOnline()) deferred.disarm();
      else deferred.arm(envelope(batch).body);
    });
  };

  const apply = (batch: StoredEvent[], result: SendResult) => {
    rearm();
    switch (result.kind) {
      case 'delivered':
      case 'rejected':
        failures = 0;
        lastAnswerAt = clock.now();
        queue.remove(batch);
        if (result.kind === 'delivered') report.delivered(batch);
        else report.dropped('rejected', batch, `the collector rejected the batch with HTTP ${result.status}`);
        return true;
      case 'too-large':
        if (batch.length > 1) {
          queue.requeueFront(batch, false);
          splitSizes.unshift(Math.ceil(batch.length / 2), Math.floor(batch.length / 2));
        } else {
          queue.remove(batch);
          report.dropped('tooLarge', batch, 'the collector answered 413 to a single event');
        }
        return true;
      case 'handed-off':
        queue.handOff(batch, handOffMark());
        return true;
      case 'unsent':
        queue.requeueFront(batch, false);
        return false;
      case 'retry': {
        failures++;
        const exhausted = batch.filter((stored) => stored.attempts + 1 >= maxAttempts);
        const again = batch.filter((stored) => !exhausted.includes(stored));
        // `!= null`: an opaque redirect answers status 0, which is an answer, not a network error.
        const detail = result.status != null ? `HTTP ${result.status}` : `network error (${String(result.cause)})`;
        if (exhausted.length) {
          queue.remove(exhausted);
          report.dropped('attempts', exhausted, `gave up after ${maxAttempts} attempts; last: ${detail}`);
        }
        queue.requeueFront(again, true);
        const delayMs = Math.max(backoff(failures, options.random), result.retryAfterMs ?? 0);
        retryAt = clock.now() + delayMs;
        if (again.length) report.retry(again, failures, delayMs, detail);
        arm(delayMs);
        return false;
      }
    }
  };

  const sendNext = async (): Promise<boolean> => {
    const maxCount = splitSizes.shift() ?? (failures ? PROBE_BATCH_SIZE : batchSize);
    const batch = queue.takeBatch(maxCount, room(maxBatchBytes), sharing ? clock.now() + options.leaseMs : undefined);
    const { body, bytes } = envelope(batch);
    report.sent(batch, bytes);
    inFlight++;
    // A transport is not supposed to throw; one that does (a custom one) fails this attempt only.
    const result = await transport.send({ body, bytes, keepalive: false }).catch((cause: unknown): SendResult => ({ kind: 'retry', cause }));
    inFlight--;
    return apply(batch, result);
  };

  const drain = async () => {
    try {
      await sendWhileAllowed();
    } catch (error) {
      // A bug must not wedge sending for good: it is reported, and the next trigger tries again.
      report.failed(error);
    } finally {
      draining = undefined;
    }
  };

  const sendWhileAllowed = async () => {
    await options.ready;
    // Rereading the store and leasing each batch cost a store read and a write per request. Every
    // live tab waits for the lock, so a sender nobody waits for, told of no change, skips both.
    sharing = options.shared && (await options.sender.othersWaiting());
    const reread = options.shared && (sharing || storeChanged || !options.sender.held);
    storeChanged = false;
    const leaseEnds = reread ? await queue.refresh(options.sender.held).catch(() => undefined) : undefined;
    if (!options.sender.held) {
      // Not the sender: what this tab queued is in the store; the sender is told to send it.
      await queue.persisted();
      if (queue.waiting) {
        options.sender.nudge();
        arm(options.flushInterval);
      }
    }
    while (options.sender.held && !stopped && queue.waiting && options.isOnline() && clock.now() >= retryAt) {
      if (!(await sendNext())) break;
      // A tab opened during a long drain must find the next batch in flight leased, should this one close.
      if (options.shared && !sharing) sharing = await options.sender.othersWaiting();
    }
    if (queue.waiting && clock.now() < retryAt) arm(retryAt - clock.now());
    // Events leased by another tab wait for their lease: if that tab died, nothing else would wake
    // us, and only a reread brings them back.
    if (leaseEnds !== undefined) storeChanged = true;
    if (leaseEnds !== undefined && options.sender.held) arm(Math.max(0, leaseEnds - clock.now()));
  };

  const flush = (): Promise<void> => (draining ||= drain());

  const handOff = (pageIsGoing: boolean) => {
    // What leaves now must not leave again when the page is destroyed.
    if (pageIsGoing) options.deferred?.disarm();
    if (!options.sender.held) return void queue.persisted().then(options.sender.nudge);
    // Offline or failing collector: a beacon would be lost unseen, so the store keeps the events.
    if (stopped || failures || !options.isOnline()) return;
    const via = pageIsGoing && beacon ? beacon : transport;
    while (queue.waiting) {
      const batch = queue.takeBatch(batchSize, room(Math.min(maxBatchBytes, budget.available)));
      const { body, bytes } = envelope(batch);
      if (bytes > budget.available) {
        queue.requeueFront(batch, false);
        return;
      }
      report.sent(batch, bytes);
      const mark = handOffMark();
      if (via === transport && mark !== undefined) queue.markHandedOff(batch, mark);
      inFlight++;
      void via.send({ body, bytes, keepalive: true }).then((result) => {
        inFlight--;
        if (result.kind === 'unsent' && via === transport && beacon) {
          // Keepalive fetch refused (or missing): the beacon is the next best way out.
          void beacon.send({ body, bytes, keepalive: true }).then((second) => apply(batch, second));
        } else apply(batch, result);
      });
    }
  };

  return {
    schedule() {
      if (!queue.waiting) return;
      rearm();
      if (queue.waiting < batchSize) return arm(options.flushInterval);
      if (flushQueued || draining || clock.now() < retryAt) return;
      // After the current task, so a burst of track() calls fills whole batches first.
      flushQueued = true;
      queueMicrotask(() => {
        flushQueued = false;
        void flush();
      });
    },
    flush,
    handOff,
    get failures() {
      return failures;
    },
    get inFlight() {
      return inFlight;
    },
    rearm,
    storeChanged() {
      storeChanged = true;
    },
    stop() {
      stopped = true;
      options.deferred?.disarm();
      clock.clearTimeout(timer);
      timerDue = Infinity;
    },
  };
}
