/**
 * The queue's invariants (design.md 1–3) against a model: random sequences of push, take,
 * settle, requeue, adopt and clear, where the model is the plain FIFO the queue must behave
 * like, and a recording mirror stands for the store the queue writes behind to.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createQueue, type Queue, type QueueMirror } from '../src/queue/queue';
import type { StoredEvent } from '../src/store/event-store';
import { storedEventNumbered } from './support/events';

type Operation =
  | { kind: 'push'; count: number; bytes: number }
  | { kind: 'take'; maxCount: number; maxBytes: number }
  /** A final answer for an in-flight batch (delivered, rejected, handed off): it leaves. */
  | { kind: 'settle'; pick: number }
  /** A retryable failure (attempted) or an unsent request (not): the batch goes back. */
  | { kind: 'requeue'; pick: number; attempted: boolean }
  /** An orphan's events, older than anything this queue pushed since it started. */
  | { kind: 'adopt'; count: number }
  | { kind: 'clear' };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), count: fc.integer({ min: 1, max: 4 }), bytes: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('take' as const), maxCount: fc.integer({ min: 1, max: 6 }), maxBytes: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('requeue' as const), pick: fc.nat(), attempted: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('adopt' as const), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

const scenario = fc.record({
  maxQueueSize: fc.integer({ min: 1, max: 8 }),
  operations: fc.array(operation, { maxLength: 60 }),
});

const RUNS = 300;
/** Pushed events are numbered from here up; adopted ones count down from just below, so they are older. */
const FIRST_PUSHED = 10_000;

/** The FIFO the queue must behave like; an event's number is its seq, so FIFO order is numeric order. */
interface Model {
  waiting: number[];
  inFlight: number[][];
  attempts: Map<number, number>;
  outcome: Map<number, 'settled' | 'overflow' | 'cleared'>;
  created: number[];
}

/** A mirror that applies every change to a map, as a store would. */
function recordingMirror() {
  const stored = new Map<string, StoredEvent>();
  const puts: StoredEvent[][] = [];
  const mirror: QueueMirror = {
    put(events) {
      puts.push(events.map((event) => ({ ...event })));
      for (const event of events) stored.set(event.id, { ...event });
    },
    remove(events) {
      for (const event of events) stored.delete(event.id);
    },
  };
  return { mirror, stored, puts };
}

const numbersOf = (batch: readonly StoredEvent[]) => batch.map((event) => event.seq);
const sorted = (numbers: number[]) => [...numbers].sort((a, b) => a - b);

/** The longest prefix of `waiting` within both limits, and never empty when something waits. */
function expectedBatch(model: Model, maxCount: number, maxBytes: number, bytesOf: (n: number) => number): number[] {
  const batch: number[] = [];
  let bytes = 0;
  for (const n of model.waiting) {
    if (batch.length === maxCount) break;
    bytes += bytesOf(n);
    if (batch.length > 0 && bytes > maxBytes) break;
    batch.push(n);
  }
  return batch;
}

/** Runs the operations on a queue and the model side by side, checking the invariants after each. */
function run(maxQueueSize: number, operations: Operation[]) {
  const { mirror, stored, puts } = recordingMirror();
  const queue: Queue = createQueue(maxQueueSize, mirror);
  const model: Model = { waiting: [], inFlight: [], attempts: new Map(), outcome: new Map(), created: [] };
  const bytes = new Map<number, number>();
  const batchesInFlight: StoredEvent[][] = [];
  let nextPushed = FIRST_PUSHED;
  let nextAdopted = FIRST_PUSHED - 1;
  const create = (n: number, size: number) => {
    bytes.set(n, size);
    model.attempts.set(n, 0);
    model.created.push(n);
    return storedEventNumbered(n, { bytes: size });
  };
  /** Drops the oldest waiting events beyond the bound, as the queue must. */
  const overflow = () => {
    const excess = model.waiting.length + model.inFlight.flat().length - maxQueueSize;
    const dropped = excess > 0 ? model.waiting.splice(0, excess) : [];
    for (const n of dropped) model.outcome.set(n, 'overflow');
    return dropped;
  };

  for (const op of operations) {
    switch (op.kind) {
      case 'push': {
        const events = Array.from({ length: op.count }, () => create(nextPushed++, op.bytes));
        model.waiting.push(...numbersOf(events));
        const expectedDropped = overflow();
        // Overflow drops the oldest waiting events and hands them back to be counted.
        expect(numbersOf(queue.push(events))).toEqual(expectedDropped);
        break;
      }
      case 'take': {
        const expected = expectedBatch(model, op.maxCount, op.maxBytes, (n) => bytes.get(n)!);
        expect(numbersOf(queue.peek(op.maxCount, op.maxBytes))).toEqual(expected);
        const batch = queue.take(op.maxCount, op.maxBytes);
        expect(numbersOf(batch)).toEqual(expected);
        if (batch.length > 1) expect(batch.reduce((sum, event) => sum + event.bytes, 0)).toBeLessThanOrEqual(op.maxBytes);
        for (const event of batch) expect(event.attempts).toBe(model.attempts.get(event.seq));
        model.waiting.splice(0, expected.length);
        if (batch.length) {
          model.inFlight.push(expected);
          batchesInFlight.push(batch);
        }
        break;
      }
      case 'settle': {
        if (!batchesInFlight.length) break;
        const i = op.pick % batchesInFlight.length;
        queue.settle(batchesInFlight.splice(i, 1)[0]!);
        for (const n of model.inFlight.splice(i, 1)[0]!) model.outcome.set(n, 'settled');
        break;
      }
      case 'requeue': {
        if (!batchesInFlight.length) break;
        const i = op.pick % batchesInFlight.length;
        queue.requeue(batchesInFlight.splice(i, 1)[0]!, op.attempted);
        const batch = model.inFlight.splice(i, 1)[0]!;
        if (op.attempted) for (const n of batch) model.attempts.set(n, model.attempts.get(n)! + 1);
        // Back in front of everything tracked after it, in its original order: FIFO as if never taken.
        model.waiting = sorted([...batch, ...model.waiting]);
        break;
      }
      case 'adopt': {
        const orphan = Array.from({ length: op.count }, () => create(nextAdopted--, 10)).reverse();
        // An orphan may hold an event this queue knows already (its own leftovers): taken in once.
        const known = model.waiting[0];
        const offered = known === undefined ? orphan : [...orphan, storedEventNumbered(known)];
        model.waiting = sorted([...numbersOf(orphan), ...model.waiting]);
        const expectedDropped = overflow();
        expect(numbersOf(queue.adopt(offered))).toEqual(expectedDropped);
        break;
      }
      case 'clear': {
        const expected = model.waiting.splice(0);
        for (const n of expected) model.outcome.set(n, 'cleared');
        expect(numbersOf(queue.clear())).toEqual(expected);
        break;
      }
    }
    const inFlight = model.inFlight.flat();
    expect(queue.size).toBeLessThanOrEqual(maxQueueSize);
    expect(numbersOf(queue.waiting)).toEqual(model.waiting);
    expect(queue.size).toBe(model.waiting.length + inFlight.length);
    // Write-behind: the store holds exactly what the queue holds, with its attempts.
    expect(sorted([...stored.values()].map((event) => event.seq))).toEqual(sorted([...model.waiting, ...inFlight]));
    for (const event of stored.values()) expect(event.attempts).toBe(model.attempts.get(event.seq));
  }
  return { queue, model, batchesInFlight, puts };
}

describe('queue invariants', () => {
  it('never holds more than maxQueueSize events, and drops the oldest waiting ones on overflow', () => {
    fc.assert(
      fc.property(scenario, ({ maxQueueSize, operations }) => {
        run(maxQueueSize, operations);
      }),
      { numRuns: RUNS },
    );
  });

  it('hands out events in FIFO order, a failed batch going back in front of later events in its order', () => {
    fc.assert(
      fc.property(scenario, ({ maxQueueSize, operations }) => {
        const { queue, model } = run(maxQueueSize, operations);
        expect(numbersOf(queue.take(Infinity, Infinity))).toEqual(model.waiting);
      }),
      { numRuns: RUNS },
    );
  });

  it('accounts for every event exactly once: settled, dropped by overflow, cleared, or still queued', () => {
    fc.assert(
      fc.property(scenario, ({ maxQueueSize, operations }) => {
        const { queue, model, batchesInFlight } = run(maxQueueSize, operations);
        const stillQueued = [...numbersOf(queue.take(Infinity, Infinity)), ...batchesInFlight.flatMap(numbersOf)];
        expect(sorted([...model.outcome.keys(), ...stillQueued])).toEqual(sorted(model.created));
      }),
      { numRuns: RUNS },
    );
  });

  it('mirrors every change to the store: it holds exactly the queued events', () => {
    fc.assert(
      fc.property(scenario, ({ maxQueueSize, operations }) => {
        // run() checks the mirror after every operation.
        const { queue, model } = run(maxQueueSize, operations);
        expect(queue.size).toBe(model.waiting.length + model.inFlight.flat().length);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the queue, by example', () => {
  it('does not write a requeue that was not an attempt: nothing about the events changed', () => {
    const { mirror, puts } = recordingMirror();
    const queue = createQueue(10, mirror);
    queue.push([storedEventNumbered(1)]);
    const batch = queue.take(10, Infinity);

    queue.requeue(batch, false);

    expect(puts).toHaveLength(1);
    expect(batch[0]!.attempts).toBe(0);
  });

  it('forgets, without a delete, the waiting events another tab adopted (keepOnly)', () => {
    const { mirror, stored } = recordingMirror();
    const queue = createQueue(10, mirror);
    queue.push([1, 2, 3].map((n) => storedEventNumbered(n)));

    queue.keepOnly(new Set(['e2']));

    expect(numbersOf(queue.waiting)).toEqual([2]);
    expect(stored.size).toBe(3);
  });
});
