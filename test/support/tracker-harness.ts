import type { HomingError } from '../../src/errors';
import type { TrackerOptions } from '../../src/options';
import { createTracker, type Tracker, type TrackerEvents } from '../../src/tracker';
import { createRecordingTransport, type Answer } from './recording-transport';
import { vi } from 'vitest';
import { idle, settle } from './time';

const running = new Set<Tracker>();

export type HarnessOptions = Partial<TrackerOptions> & { answer?: Answer };

/**
 * A tracker on a memory store, sending through a recording transport that answers as told,
 * with a random source of 0.5 (so the first backoff is 500 ms); everything it reports is kept.
 */
export function createTestTracker({ answer, ...options }: HarnessOptions = {}) {
  const recording = createRecordingTransport(answer);
  const tracker = createTracker({ endpoint: '/collect', store: 'memory', transport: recording.transport, random: () => 0.5, ...options });
  running.add(tracker);
  const errors: HomingError[] = [];
  const dropped: Array<TrackerEvents['dropped']> = [];
  const delivered: Array<TrackerEvents['delivered']> = [];
  const retries: Array<TrackerEvents['retry']> = [];
  tracker.on('error', (error) => errors.push(error));
  tracker.on('dropped', (payload) => dropped.push(payload));
  tracker.on('delivered', (payload) => delivered.push(payload));
  tracker.on('retry', (payload) => retries.push(payload));
  return { tracker, ...recording, errors, dropped, delivered, retries, errorCodes: () => errors.map((error) => error.code) };
}

/** The same, once it has loaded its store: what it sends from then on is only what it is told to. */
export async function startTestTracker(options: HarnessOptions = {}) {
  const harness = createTestTracker(options);
  await settle();
  return harness;
}

/** Tracks events named `e<from>` to `e<to>`. */
export function trackNumbered(tracker: Tracker, from: number, to: number): void {
  for (let n = from; n <= to; n++) tracker.track(`e${n}`);
}

export const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `e${from + i}`);

/** Shuts down every tracker a test started, so none keeps a timer or a listener. */
export async function shutDownTestTrackers(): Promise<void> {
  const trackers = [...running];
  running.clear();
  await Promise.all(trackers.map((tracker) => tracker.shutdown()));
}

/** Tracks `e<from>`..`e<to>`, each in its own task, so each is its own store write. */
export async function trackOneByOne(tracker: Tracker, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) {
    tracker.track(`e${n}`);
    await idle();
  }
}

/**
 * Asks for a flush (without waiting on it: a wedged tracker must fail the test, not hang it) and
 * lets fake time pass from one timer to the next, storage idle in between, until the queue is
 * empty or a generous limit.
 */
export async function deliverAll(tracker: Tracker): Promise<void> {
  await idle();
  for (let step = 0; step < 400 && tracker.stats().queued > 0; step++) {
    void tracker.flush();
    await idle();
    await vi.advanceTimersToNextTimerAsync();
    await idle();
  }
}
