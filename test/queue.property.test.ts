/**
 * The queue's invariants (design.md 1–3) against a model: random sequences of enqueue,
 * takeBatch, success, rejection and failure, where the model is the plain FIFO the queue must
 * behave like.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createQueue, type Queue } from '../src/queue';
import type { EventStore, StoredEvent } from '../src/store/event-store';
import { createMemoryStore } from '../src/store/memory';
import { eventNumbered } from './support/events';

type Operation =
  | { kind: 'enqueue'; count: number; bytes: number }
  | { kind: 'takeBatch'; maxCount: number; maxBytes: number }
  /** A final answer for an in-flight batch: delivered or rejected; either way it leaves. */
  | { kind: 'remove'; pick: number; reason: 'delivered' | 'rejected' }
  /** A retryable failure: the batch goes back. */
  | { kind: 'requeue'; pick: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), count: fc.integer({ min: 1, max: 4 }), bytes: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('takeBatch' as const), maxCount: fc.integer({ min: 1, max: 6 }), maxBytes: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat(), reason: fc.constantFrom('delivered' as const, 'rejected' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('requeue' as const), pick: fc.nat() }) },
);

const scenario = fc.record({
  maxQueueSize: fc.integer({ min: 1, max: 8 }),
  operations: fc.array(operation, { maxLength: 60 }),
});

const RUNS = 300;

/** The FIFO the queue must behave like; event `n` is the n-th enqueued, so FIFO order is numeric order. */
interface Model {
  waiting: number[];
  inFlight: number[][];
  bytes: Map<number, number>;
  attempts: Map<number, number>;
  outcome: Map<number, 'delivered' | 'rejected' | 'overflow'>;
  enqueued: number;
}

const numberOf = (stored: StoredEvent) => Number(stored.id.slice(1));
const numbersOf = (batch: StoredEvent[]) => batch.map(numberOf);

/** The longest prefix of `waiting` within both limits, and never empty when something waits. */
function expectedBatch(model: Model, maxCount: number, maxBytes: number): number[] {
  const batch: number[] = [];
  let bytes = 0;
  for (const n of model.waiting) {
    if (batch.length === maxCount) break;
    bytes += model.bytes.get(n)!;
    if (batch.length > 0 && bytes > maxBytes) break;
    batch.push(n);
  }
  return batch;
}

/** Runs the operations on a queue and the model side by side, checking the invariants after each. */
function run(queue: Queue, maxQueueSize: number, operations: Operation[]) {
  const model: Model = { waiting: [], inFlight: [], bytes: new Map(), attempts: new Map(), outcome: new Map(), enqueued: 0 };
  const batchesInFlight: StoredEvent[][] = [];

  for (const op of operations) {
    switch (op.kind) {
      case 'enqueue':
        for (let i = 0; i < op.count; i++) {
          const n = model.enqueued++;
          model.bytes.set(n, op.bytes);
          model.attempts.set(n, 0);
          model.waiting.push(n);
          const excess = model.waiting.length + model.inFlight.flat().length - maxQueueSize;
          const expectedDropped = excess > 0 ? model.waiting.splice(0, excess) : [];
          const dropped = queue.enqueue(eventNumbered(n), op.bytes);
          // Overflow drops the oldest waiting events and hands them back to be counted.
          expect(numbersOf(dropped)).toEqual(expectedDropped);
          for (const d of expectedDropped) model.outcome.set(d, 'overflow');
        }
        break;
      case 'takeBatch': {
        const expected = expectedBatch(model, op.maxCount, op.maxBytes);
        const batch = queue.takeBatch(op.maxCount, op.maxBytes);
        expect(numbersOf(batch)).toEqual(expected);
        expect(batch.length).toBeLessThanOrEqual(op.maxCount);
        if (batch.length > 1) expect(batch.reduce((sum, e) => sum + e.bytes, 0)).toBeLessThanOrEqual(op.maxBytes);
        for (const stored of batch) expect(stored.attempts).toBe(model.attempts.get(numberOf(stored)));
        model.waiting.splice(0, expected.length);
        if (batch.length) {
          model.inFlight.push(expected);
          batchesInFlight.push(batch);
        }
        break;
      }
      case 'remove': {
        if (!batchesInFlight.length) break;
        const i = op.pick % batchesInFlight.length;
        queue.remove(batchesInFlight.splice(i, 1)[0]!);
        for (const n of model.inFlight.splice(i, 1)[0]!) model.outcome.set(n, op.reason);
        break;
      }
      case 'requeue': {
        if (!batchesInFlight.length) break;
        const i = op.pick % batchesInFlight.length;
        queue.requeueFront(batchesInFlight.splice(i, 1)[0]!, true);
        const batch = model.inFlight.splice(i, 1)[0]!;
        for (const n of batch) model.attempts.set(n, model.attempts.get(n)! + 1);
        // Back in front of everything tracked after it, in its original order: FIFO as if never taken.
        model.waiting = [...batch, ...model.waiting].sort((a, b) => a - b);
        break;
      }
    }
    const inFlight = model.inFlight.flat().length;
    expect(queue.size).toBeLessThanOrEqual(maxQueueSize);
    expect(queue.waiting).toBe(model.waiting.length);
    expect(queue.size).toBe(model.waiting.length + inFlight);
  }
  return { model, batchesInFlight };
}

describe('queue invariants', () => {
  it('never holds more than maxQueueSize events, and drops the oldest waiting ones on overflow', () => {
    fc.assert(
      fc.property(scenario, ({ maxQueueSize, operations }) => {
        const queue = createQueue({ store: createMemoryStore(), maxQueueSize, now: () => 0, onWriteError: () => {} });
        run(queue, maxQueueSize, operations);
      }),
      { numRuns: RUNS },
    );
  });

  it('hands out events in FIFO order, a failed batch going back in front of later events in its order', () => {
    fc.assert(
      fc.property(scenario, ({ maxQueueSize, operations }) => {
        const queue = createQueue({ store: createMemoryStore(), maxQueueSize, now: () => 0, onWriteError: () => {} });
        const { model } = run(queue, maxQueueSize, operations);
        expect(numbersOf(queue.takeBatch(Infinity, Infinity))).toEqual(model.waiting);
      }),
      { numRuns: RUNS },
    );
  });

  it('accounts for every enqueued event exactly once: delivered, dropped with a reason, or still queued', () => {
    fc.assert(
      fc.property(scenario, ({ maxQueueSize, operations }) => {
        const queue = createQueue({ store: createMemoryStore(), maxQueueSize, now: () => 0, onWriteError: () => {} });
        const { model, batchesInFlight } = run(queue, maxQueueSize, operations);
        const stillQueued = [...numbersOf(queue.takeBatch(Infinity, Infinity)), ...batchesInFlight.flatMap(numbersOf)];
        const finished = [...model.outcome.keys()];
        const all = [...finished, ...stillQueued].sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: model.enqueued }, (_, n) => n));
      }),
      { numRuns: RUNS },
    );
  });

  it('persists exactly the queued events, and a new queue on the same store loads them in FIFO order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ maxQueueSize, operations }) => {
        const store: EventStore = createMemoryStore();
        const queue = createQueue({ store, maxQueueSize, now: () => 0, onWriteError: () => {} });
        const { model } = run(queue, maxQueueSize, operations);
        await queue.persisted();

        const queued = [...model.inFlight.flat(), ...model.waiting].sort((a, b) => a - b);
        const { events } = await store.load();
        expect(numbersOf(events).sort((a, b) => a - b)).toEqual(queued);
        for (const stored of events) expect(stored.attempts).toBe(model.attempts.get(numberOf(stored)));

        const nextPageLoad = createQueue({ store, maxQueueSize, now: () => 0, onWriteError: () => {} });
        await nextPageLoad.load();
        expect(numbersOf(nextPageLoad.takeBatch(Infinity, Infinity))).toEqual(queued);
      }),
      { numRuns: RUNS },
    );
  });
});
