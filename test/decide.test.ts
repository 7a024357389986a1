import { describe, expect, it } from 'vitest';
import { decide } from '../src/delivery/decide';
import type { SendResult } from '../src/transport/transport';
import { idsOf, storedEventNumbered } from './support/events';

const MAX_ATTEMPTS = 5;
const BYTES = 4_000;
const batchOf = (...ns: number[]) => ns.map((n) => storedEventNumbered(n));
const decideFor = (result: SendResult, batch = batchOf(1, 2, 3)) => decide(batch, BYTES, result, MAX_ATTEMPTS);

describe('what an answer decides for its batch', () => {
  it('settles a delivered batch as delivered, closes the circuit, and goes on', () => {
    const batch = batchOf(1, 2, 3);

    expect(decideFor({ kind: 'delivered', status: 200 }, batch)).toEqual({ settle: batch, settled: 'delivered', requeue: [], answered: true, next: true });
  });

  it('settles a batch the browser took (a beacon) as handed off, without touching the circuit', () => {
    const batch = batchOf(1, 2);

    const decision = decideFor({ kind: 'handed-off' }, batch);

    expect(decision).toEqual({ settle: batch, settled: 'handedOff', requeue: [], next: true });
  });

  it('drops a rejected batch (a permanent 4xx) as rejected, closes the circuit, and goes on', () => {
    const batch = batchOf(1, 2);

    expect(decideFor({ kind: 'rejected', status: 400 }, batch)).toEqual({
      settle: batch,
      drop: { reason: 'rejected', events: batch },
      requeue: [],
      answered: true,
      next: true,
    });
  });

  it('puts a refused batch of several events (413) back, to be split, remembering the size refused', () => {
    const batch = batchOf(1, 2);

    const decision = decideFor({ kind: 'too-large', status: 413 }, batch);

    expect(decision).toMatchObject({ settle: [], requeue: batch, refusedBytes: BYTES, next: true });
    expect(decision.drop).toBeUndefined();
    expect(decision.attempted).toBeFalsy();
    expect(decision.failed).toBeUndefined();
  });

  it('drops a refused single event (413) as too large: it cannot be split', () => {
    const batch = batchOf(1);

    const decision = decideFor({ kind: 'too-large', status: 413 }, batch);

    expect(decision).toMatchObject({ settle: batch, drop: { reason: 'tooLarge', events: batch }, requeue: [], next: true });
    expect(decision.refusedBytes).toBeUndefined();
    expect(decision.failed).toBeUndefined();
  });

  it('puts a batch back after a retryable failure, counting an attempt, opening the circuit and stopping the loop', () => {
    const batch = batchOf(1, 2);

    expect(decideFor({ kind: 'retry', status: 503 }, batch)).toEqual({
      settle: [],
      drop: undefined,
      requeue: batch,
      attempted: true,
      failed: { retryAfterMs: undefined },
      next: false,
    });
  });

  it("passes on the collector's Retry-After to the circuit", () => {
    expect(decideFor({ kind: 'retry', status: 429, retryAfterMs: 30_000 }).failed).toEqual({ retryAfterMs: 30_000 });
  });

  it('treats a network error as a retryable failure', () => {
    expect(decideFor({ kind: 'retry', cause: new TypeError('Failed to fetch') })).toMatchObject({ attempted: true, failed: {}, next: false });
  });

  it('drops the events whose attempts this failure exhausts, and puts the others back', () => {
    const batch = [storedEventNumbered(1, { attempts: MAX_ATTEMPTS - 1 }), storedEventNumbered(2, { attempts: 0 }), storedEventNumbered(3, { attempts: MAX_ATTEMPTS - 1 })];

    const decision = decideFor({ kind: 'retry', status: 500 }, batch);

    expect(idsOf(decision.settle)).toEqual(['e1', 'e3']);
    expect(decision.drop).toEqual({ reason: 'attempts', events: [batch[0], batch[2]] });
    expect(idsOf(decision.requeue)).toEqual(['e2']);
    expect(decision.failed).toBeDefined();
  });

  it('gives an event with one attempt allowed up at its first failure', () => {
    const decision = decide(batchOf(1), BYTES, { kind: 'retry', status: 500 }, 1);

    expect(decision.drop).toMatchObject({ reason: 'attempts' });
    expect(decision.requeue).toEqual([]);
  });

  it('puts an unsent batch back without counting an attempt or opening the circuit, and stops the loop', () => {
    const batch = batchOf(1, 2);

    expect(decideFor({ kind: 'unsent', cause: 'keepalive budget' }, batch)).toEqual({ settle: [], requeue: batch, next: false });
  });

  it.each<{ kind: string; result: SendResult; circuit: 'closes' | 'opens' | 'leaves' }>([
    { kind: 'delivered', result: { kind: 'delivered', status: 204 }, circuit: 'closes' },
    { kind: 'rejected', result: { kind: 'rejected', status: 422 }, circuit: 'closes' },
    { kind: 'retry', result: { kind: 'retry', status: 502 }, circuit: 'opens' },
    { kind: 'handed-off', result: { kind: 'handed-off' }, circuit: 'leaves' },
    { kind: 'unsent', result: { kind: 'unsent' }, circuit: 'leaves' },
    { kind: 'too-large', result: { kind: 'too-large', status: 413 }, circuit: 'leaves' },
  ])('a $kind answer $circuit the circuit as it is', ({ result, circuit }) => {
    const decision = decideFor(result);

    expect(decision.answered ? 'closes' : decision.failed ? 'opens' : 'leaves').toBe(circuit);
    expect(!!(decision.answered && decision.failed)).toBe(false);
  });
});
