import type { HomingError } from '../../src/errors';
import type { TrackerOptions } from '../../src/options';
import { createTracker, type Tracker, type TrackerEvents } from '../../src/tracker';
import { createRecordingTransport, type Answer } from './recording-transport';
import { settle } from './time';

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
