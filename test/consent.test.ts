import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../src/store/memory';
import { createLocalStorageStub } from './support/local-storage-stub';
import { shutDownTestTrackers, startTestTracker } from './support/tracker-harness';
import { neverAnswers } from './support/recording-transport';
import { useFakeTime } from './support/time';

afterEach(async () => {
  await shutDownTestTrackers();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('consent', () => {
  it('stores and sends nothing while opted out, and deletes what was queued', async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const store = createMemoryStore();
    const { tracker, requests } = await startTestTracker({ store, answer: neverAnswers, batchSize: 100 });
    tracker.track('Before');
    tracker.optOut();
    tracker.track('During');
    await tracker.flush();

    expect(requests).toHaveLength(0);
    expect((await store.load()).events).toHaveLength(0);
    expect(tracker.stats().queued).toBe(0);
  });

  it('remembers the opt-out across page loads, until optIn()', async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    (await startTestTracker()).tracker.optOut();

    const { tracker, requests } = await startTestTracker();
    tracker.track('Ignored');
    await tracker.flush();
    expect(requests).toHaveLength(0);

    tracker.optIn();
    tracker.track('Counted');
    await tracker.flush();
    expect(requests.flatMap((request) => request.names)).toEqual(['Counted']);
  });

  it('honours Global Privacy Control when asked to, and not otherwise', async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    vi.stubGlobal('navigator', { onLine: true, globalPrivacyControl: true });

    const honouring = await startTestTracker({ honorGlobalPrivacyControl: true });
    honouring.tracker.track('Ignored');
    await honouring.tracker.flush();
    expect(honouring.requests).toHaveLength(0);

    const ignoring = await startTestTracker();
    ignoring.tracker.track('Counted');
    await ignoring.tracker.flush();
    expect(ignoring.requests).toHaveLength(1);
  });

  it('lets an explicit optIn() override Global Privacy Control', async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    vi.stubGlobal('navigator', { onLine: true, globalPrivacyControl: true });
    const { tracker, requests } = await startTestTracker({ honorGlobalPrivacyControl: true });

    tracker.optIn();
    tracker.track('Counted');
    await tracker.flush();

    expect(requests).toHaveLength(1);
  });
});

describe('sessions', () => {
  it('keep their id between events and rotate after sessionTimeout without any', async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const { tracker, requests } = await startTestTracker({ sessionTimeout: 60_000 });
    const sessionOf = (i: number) => requests.flatMap((request) => request.payload.batch)[i]!.context.sessionId;

    tracker.track('a');
    vi.advanceTimersByTime(50_000);
    tracker.track('b');
    vi.advanceTimersByTime(61_000);
    tracker.track('c');
    await tracker.flush();

    expect(sessionOf(0)).toBe(sessionOf(1));
    expect(sessionOf(2)).not.toBe(sessionOf(1));
  });

  it('are shared by the tabs of a site: a second tracker continues the session', async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const first = await startTestTracker();
    first.tracker.track('a');
    await first.tracker.flush();
    const second = await startTestTracker();
    second.tracker.track('b');
    await second.tracker.flush();

    const [a] = first.requests[0]!.payload.batch;
    const [b] = second.requests[0]!.payload.batch;
    expect(b!.context.sessionId).toBe(a!.context.sessionId);
    expect(b!.anonymousId).toBe(a!.anonymousId);
  });

  it('start anew with a new anonymous id after reset()', async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const { tracker, requests } = await startTestTracker();
    tracker.identify('user-1');
    tracker.reset();
    tracker.track('after');
    await tracker.flush();

    const [identify, after] = requests.flatMap((request) => request.payload.batch);
    expect(after!.anonymousId).not.toBe(identify!.anonymousId);
    expect(after!.context.sessionId).not.toBe(identify!.context.sessionId);
    expect(after!.userId).toBeUndefined();
  });
});

describe('consent that waits', () => {
  /** A store that records every write, and a localStorage that records every key set. */
  function storageWatch() {
    const localStorage = createLocalStorageStub();
    const keysSet: string[] = [];
    const setItem = localStorage.setItem.bind(localStorage);
    localStorage.setItem = (key, value) => {
      keysSet.push(key);
      setItem(key, value);
    };
    vi.stubGlobal('localStorage', localStorage);
    const inner = createMemoryStore();
    const writes: number[] = [];
    const store = { kind: 'custom' as const, load: () => inner.load(), write: (changes: Parameters<typeof inner.write>[0]) => (writes.push(changes.put.length), inner.write(changes)) };
    return { store, keysSet, writes };
  }

  it('keeps events in memory only until optIn(), then stores and sends them all, in order, with the times they were tracked', async () => {
    useFakeTime();
    const { store, keysSet, writes } = storageWatch();
    const { tracker, requests } = await startTestTracker({ store, consent: 'pending' });
    const trackedAt: string[] = [];
    for (let n = 1; n <= 10; n++) {
      trackedAt.push(new Date().toISOString());
      tracker.track(`e${n}`);
      vi.advanceTimersByTime(1_000);
    }
    await tracker.flush();
    vi.advanceTimersByTime(60_000);
    await tracker.flush();

    expect(requests).toHaveLength(0);
    expect(writes).toEqual([]);
    expect(keysSet).toEqual([]);
    expect(tracker.stats()).toMatchObject({ queued: 10, received: 10 });

    tracker.optIn();
    await tracker.flush();

    const sent = requests.flatMap((request) => request.payload.batch);
    expect(sent.map((event) => event.event)).toEqual(Array.from({ length: 10 }, (_, i) => `e${i + 1}`));
    expect(sent.map((event) => event.timestamp)).toEqual(trackedAt);
    expect(writes.length).toBeGreaterThan(0);
    expect(keysSet).toContain('homing:consent');
  });

  it('deletes what waited on optOut(): nothing is stored, nothing is sent, nothing is held', async () => {
    useFakeTime();
    const { store, keysSet, writes } = storageWatch();
    const { tracker, requests } = await startTestTracker({ store, consent: 'pending' });
    for (let n = 1; n <= 10; n++) tracker.track(`e${n}`);

    tracker.optOut();
    await tracker.flush();

    expect(requests).toHaveLength(0);
    expect(writes).toEqual([]);
    expect(keysSet).toEqual(['homing:consent']);
    expect(tracker.stats().queued).toBe(0);
  });

  it('keeps at most maxQueueSize events while it waits, dropping the oldest', async () => {
    useFakeTime();
    storageWatch();
    const { tracker, requests } = await startTestTracker({ consent: 'pending', maxQueueSize: 5, store: 'memory' });
    for (let n = 1; n <= 8; n++) tracker.track(`e${n}`);
    tracker.optIn();
    await tracker.flush();

    expect(requests.flatMap((request) => request.names)).toEqual(['e4', 'e5', 'e6', 'e7', 'e8']);
    expect(tracker.stats().droppedBy.overflow).toBe(3);
  });
});
