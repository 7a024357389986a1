import { afterEach, describe, expect, it, vi } from 'vitest';
import { createQueue, MAX_CHANGES_PER_WRITE } from '../src/queue';
import type { EventStore } from '../src/store/event-store';
import { createMemoryStore } from '../src/store/memory';
import { createTracker } from '../src/tracker';
import { createCountingStore, eventNumbered, idsOf } from './support/events';
import { createRecordingTransport, neverAnswers } from './support/recording-transport';
import { settle, useFakeTime } from './support/time';

function queueOn(store: EventStore = createMemoryStore(), maxQueueSize = 100) {
  const writeErrors: unknown[] = [];
  const queue = createQueue({ store, maxQueueSize, now: () => 0, onWriteError: (error) => writeErrors.push(error) });
  return { queue, writeErrors };
}

/** Enqueues events numbered `from`..`to`, each `bytes` long. */
function enqueueRange(queue: ReturnType<typeof createQueue>, from: number, to: number, bytes = 100) {
  for (let n = from; n <= to; n++) queue.enqueue(eventNumbered(n), bytes);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('write-behind persistence', () => {
  it('costs a handful of store writes for a burst of 1,000 track() calls in one task', async () => {
    useFakeTime();
    const { store, writes } = createCountingStore();
    const { transport } = createRecordingTransport(neverAnswers);
    const tracker = createTracker({ endpoint: '/collect', store, transport });

    for (let i = 0; i < 1_000; i++) tracker.track('Burst', { i });
    await settle();

    expect(writes.length).toBeLessThanOrEqual(5);
    expect((await store.load()).events).toHaveLength(1_000);
  });

  it('splits a burst into writes of at most MAX_CHANGES_PER_WRITE events, so no write is a long task', async () => {
    const { store, writes } = createCountingStore();
    const { queue } = queueOn(store, 5_000);

    enqueueRange(queue, 1, 2_000);
    await queue.persisted();

    expect(writes.map((write) => write.put.length)).toEqual(Array(2_000 / MAX_CHANGES_PER_WRITE).fill(MAX_CHANGES_PER_WRITE));
    expect(idsOf((await store.load()).events)).toEqual(Array.from({ length: 2_000 }, (_, i) => `e${i + 1}`));
  });

  it('joins every change made in one task into a single write', async () => {
    const { store, writes } = createCountingStore();
    const { queue } = queueOn(store);

    enqueueRange(queue, 1, 50);
    const batch = queue.takeBatch(10, Infinity);
    queue.remove(batch);
    await queue.persisted();

    expect(writes).toHaveLength(1);
    expect(writes[0]!.put).toHaveLength(40);
  });

  it('reports a failing write and keeps the events queued in memory', async () => {
    const broken: EventStore = { kind: 'custom', load: async () => ({ events: [], invalid: 0 }), write: async () => Promise.reject(new Error('disk full')) };
    const { queue, writeErrors } = queueOn(broken);

    enqueueRange(queue, 1, 3);
    await queue.persisted();

    expect(writeErrors).toEqual([new Error('disk full')]);
    expect(idsOf(queue.takeBatch(10, Infinity))).toEqual(['e1', 'e2', 'e3']);
  });

  it('deletes an event from the store once it has its final answer', async () => {
    const store = createMemoryStore();
    const { queue } = queueOn(store);
    enqueueRange(queue, 1, 3);
    await queue.persisted();

    queue.remove(queue.takeBatch(2, Infinity));
    await queue.persisted();

    expect(idsOf((await store.load()).events)).toEqual(['e3']);
  });

  it('keeps an event in the store while its request is in flight', async () => {
    const store = createMemoryStore();
    const { queue } = queueOn(store);
    enqueueRange(queue, 1, 2);

    queue.takeBatch(2, Infinity);
    await queue.persisted();

    expect(idsOf((await store.load()).events)).toEqual(['e1', 'e2']);
    expect(queue.size).toBe(2);
    expect(queue.waiting).toBe(0);
  });
});

describe('takeBatch', () => {
  it('takes at most maxCount of the oldest events', () => {
    const { queue } = queueOn();
    enqueueRange(queue, 1, 5);

    expect(idsOf(queue.takeBatch(3, Infinity))).toEqual(['e1', 'e2', 'e3']);
  });

  it('takes no more events than fit in maxBytes', () => {
    const { queue } = queueOn();
    enqueueRange(queue, 1, 5, 100);

    expect(idsOf(queue.takeBatch(10, 250))).toEqual(['e1', 'e2']);
  });

  it('takes one event even when it alone is larger than maxBytes', () => {
    const { queue } = queueOn();
    queue.enqueue(eventNumbered(1), 5_000);
    queue.enqueue(eventNumbered(2), 10);

    expect(idsOf(queue.takeBatch(10, 1_000))).toEqual(['e1']);
  });

  it('takes nothing from an empty queue', () => {
    const { queue } = queueOn();

    expect(queue.takeBatch(10, 1_000)).toEqual([]);
  });
});

describe('requeueFront', () => {
  it('puts a failed batch back in front of the events tracked meanwhile, in its original order', () => {
    const { queue } = queueOn();
    enqueueRange(queue, 1, 3);
    const batch = queue.takeBatch(3, Infinity);
    enqueueRange(queue, 4, 5);

    queue.requeueFront(batch, true);

    expect(idsOf(queue.takeBatch(10, Infinity))).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('keeps tracking order when two batches in flight fail in the reverse order', () => {
    const { queue } = queueOn();
    enqueueRange(queue, 1, 4);
    const first = queue.takeBatch(2, Infinity);
    const second = queue.takeBatch(2, Infinity);

    queue.requeueFront(first, true);
    queue.requeueFront(second, true);

    expect(idsOf(queue.takeBatch(10, Infinity))).toEqual(['e1', 'e2', 'e3', 'e4']);
  });

  it('counts an attempt on each event of a failed batch, and none for a batch that was not sent', async () => {
    const store = createMemoryStore();
    const { queue } = queueOn(store);
    enqueueRange(queue, 1, 2);

    queue.requeueFront(queue.takeBatch(2, Infinity), true);
    queue.requeueFront(queue.takeBatch(2, Infinity), false);
    await queue.persisted();

    expect((await store.load()).events.map((event) => event.attempts)).toEqual([1, 1]);
  });
});

describe('overflow', () => {
  it('drops the oldest waiting events when full and hands them back to be counted', () => {
    const { queue } = queueOn(createMemoryStore(), 3);
    enqueueRange(queue, 1, 3);

    const dropped = queue.enqueue(eventNumbered(4), 100);

    expect(idsOf(dropped)).toEqual(['e1']);
    expect(idsOf(queue.takeBatch(10, Infinity))).toEqual(['e2', 'e3', 'e4']);
  });

  it('counts events in flight against the limit but never drops them', () => {
    const { queue } = queueOn(createMemoryStore(), 3);
    enqueueRange(queue, 1, 3);
    const inFlight = queue.takeBatch(2, Infinity);

    const dropped = queue.enqueue(eventNumbered(4), 100);

    expect(idsOf(inFlight)).toEqual(['e1', 'e2']);
    expect(idsOf(dropped)).toEqual(['e3']);
    expect(queue.size).toBe(3);
  });
});

describe('load', () => {
  it('puts what an earlier page load left in front of the events tracked since', async () => {
    const store = createMemoryStore();
    const earlier = queueOn(store).queue;
    enqueueRange(earlier, 1, 2);
    await earlier.persisted();

    const { queue } = queueOn(store);
    enqueueRange(queue, 3, 3);
    await queue.load();

    expect(idsOf(queue.takeBatch(10, Infinity))).toEqual(['e1', 'e2', 'e3']);
  });

  it('does not reload events an earlier page handed off to the browser, and deletes them', async () => {
    const store = createMemoryStore();
    const earlier = queueOn(store).queue;
    enqueueRange(earlier, 1, 3);
    earlier.handOff(earlier.takeBatch(2, Infinity), 1_000);
    await earlier.persisted();

    const { queue } = queueOn(store);
    const loaded = await queue.load();
    await queue.persisted();

    expect(loaded.handedOff).toBe(2);
    expect(idsOf(queue.takeBatch(10, Infinity))).toEqual(['e3']);
    expect(idsOf((await store.load()).events)).toEqual(['e3']);
  });

  it('drops the oldest loaded events when the store holds more than maxQueueSize', async () => {
    const store = createMemoryStore();
    const earlier = queueOn(store, 5).queue;
    enqueueRange(earlier, 1, 5);
    await earlier.persisted();

    const { queue } = queueOn(store, 3);
    const { overflow } = await queue.load();

    expect(idsOf(overflow)).toEqual(['e1', 'e2']);
    expect(queue.size).toBe(3);
  });
});
