import { describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, createCircuit } from '../src/delivery/backoff';

const NOW = Date.UTC(2030, 0, 1);
/** A random source just under 1: each backoff is (almost) its ceiling. */
const almostOne = () => 1 - Number.EPSILON;

describe('the circuit', () => {
  it('is closed at first: a request may go now, with no failures counted', () => {
    const circuit = createCircuit(almostOne);

    expect(circuit.failures).toBe(0);
    expect(circuit.wait(NOW)).toBe(0);
  });

  it('opens at a failure for the backoff of the first attempt', () => {
    const circuit = createCircuit(() => 0.5);

    const delayMs = circuit.failed(NOW);

    expect(delayMs).toBe(BACKOFF_BASE_MS / 2);
    expect(circuit.failures).toBe(1);
    expect(circuit.wait(NOW)).toBe(delayMs);
  });

  it('counts down the wait as time passes, and lets a request go once it is over', () => {
    const circuit = createCircuit(() => 0.5);
    const delayMs = circuit.failed(NOW);

    expect(circuit.wait(NOW + delayMs - 1)).toBe(1);
    expect(circuit.wait(NOW + delayMs)).toBe(0);
    expect(circuit.wait(NOW + delayMs + 1_000)).toBe(0);
  });

  it('waits longer after each consecutive failure, doubling up to the cap', () => {
    const circuit = createCircuit(almostOne);

    const delays = Array.from({ length: 9 }, () => circuit.failed(NOW));

    expect(delays).toEqual([999, 1_999, 3_999, 7_999, 15_999, 31_999, 59_999, 59_999, 59_999]);
    expect(Math.max(...delays)).toBeLessThan(BACKOFF_CAP_MS);
    expect(circuit.failures).toBe(9);
  });

  it("waits at least as long as the collector's Retry-After asks", () => {
    const circuit = createCircuit(() => 0.5);

    expect(circuit.failed(NOW, 30_000)).toBe(30_000);
    expect(circuit.wait(NOW)).toBe(30_000);
  });

  it('waits out its own backoff when it is longer than Retry-After', () => {
    const circuit = createCircuit(almostOne);
    for (let i = 0; i < 5; i++) circuit.failed(NOW);

    expect(circuit.failed(NOW, 1_000)).toBe(31_999);
  });

  it('closes when the collector answers: no wait, and the failures start again from zero', () => {
    const circuit = createCircuit(almostOne);
    circuit.failed(NOW);
    circuit.failed(NOW);

    circuit.answered();

    expect(circuit.failures).toBe(0);
    expect(circuit.wait(NOW)).toBe(0);
    expect(circuit.failed(NOW)).toBe(999);
  });

  it('draws its jitter from the random source it is given', () => {
    const draws = [0, 0.25, 0.75];
    const circuit = createCircuit(() => draws.shift()!);

    expect([circuit.failed(NOW), circuit.failed(NOW), circuit.failed(NOW)]).toEqual([0, 500, 3_000]);
  });
});
