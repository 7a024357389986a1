import { afterEach, describe, expect, it, vi } from 'vitest';
import { createQueue } from '../src/queue';
import { createPageExitLog } from '../src/store/page-exit-log';
import { createMemoryStore } from '../src/store/memory';
import { eventNumbered, idsOf, storedEventNumbered } from './support/events';
import { createLocalStorageStub } from './support/local-storage-stub';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the page exit log', () => {
  it('keeps the next page load from resending a beacon batch whose store write never committed', async () => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const store = createMemoryStore();
    const first = createQueue({ store, maxQueueSize: 100, now: () => 1, onWriteError: () => {}, exitLog: createPageExitLog('homing') });
    for (let n = 1; n <= 4; n++) first.enqueue(eventNumbered(n), 10);
    await first.persisted();
    // The page dies right after the beacon: the store never hears of the hand-off.
    const beaconBatch = first.takeBatch(2, Infinity);
    const frozen = structuredClone((await store.load()).events);
    first.handOff(beaconBatch, 2);
    await store.write({ put: frozen, remove: [] });

    const next = createQueue({ store, maxQueueSize: 100, now: () => 3, onWriteError: () => {}, exitLog: createPageExitLog('homing') });
    const loaded = await next.load();

    expect(loaded.handedOff).toBe(2);
    expect(idsOf(next.takeBatch(10, Infinity))).toEqual(['e3', 'e4']);
  });

  it('gives the next page load the events whose store write never committed', async () => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const neverCommits = createMemoryStore();
    const dying = createQueue({ store: { ...neverCommits, write: () => new Promise(() => {}) }, maxQueueSize: 100, now: () => 1, onWriteError: () => {} });
    for (let n = 1; n <= 3; n++) dying.enqueue(eventNumbered(n), 10);
    await Promise.resolve();
    dying.enqueue(eventNumbered(4), 10);
    createPageExitLog('homing').rescue(dying.unconfirmed());

    const store = createMemoryStore();
    const next = createQueue({ store, maxQueueSize: 100, now: () => 2, onWriteError: () => {}, exitLog: createPageExitLog('homing') });
    await next.load();
    await next.persisted();

    expect(idsOf(next.takeBatch(10, Infinity))).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(idsOf((await store.load()).events)).toEqual(['e1', 'e2', 'e3', 'e4']);
  });

  it('leaves out of the rescue what the page already removed', () => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const queue = createQueue({ store: createMemoryStore(), maxQueueSize: 100, now: () => 1, onWriteError: () => {} });
    for (let n = 1; n <= 3; n++) queue.enqueue(eventNumbered(n), 10);
    queue.remove(queue.takeBatch(1, Infinity));

    expect(idsOf(queue.unconfirmed())).toEqual(['e2', 'e3']);
  });

  it('is read once: a later page load finds it empty', () => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const log = createPageExitLog('homing');
    log.noteHandOff(['a', 'b']);
    log.noteHandOff(['c']);

    expect([...log.take().handedOff]).toEqual(['a', 'b', 'c']);
    expect(log.take().handedOff.size).toBe(0);
  });

  it('ignores garbage under its key and works without localStorage', () => {
    vi.stubGlobal('localStorage', createLocalStorageStub({ 'homing:handedOff': '{not json', 'homing:rescued': '[{"id":1},"x"]' }));
    expect(createPageExitLog('homing').take()).toEqual({ handedOff: new Set(), rescued: [] });
    vi.stubGlobal('localStorage', undefined);
    const log = createPageExitLog('homing');
    expect(() => log.noteHandOff(['a'])).not.toThrow();
    expect(log.take().handedOff.size).toBe(0);
  });

  it('gives a sender that stays the events other tabs rescued, and leaves the hand-off notes for the next page load', () => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const goingAway = createPageExitLog('homing');
    goingAway.noteHandOff(['e9']);
    goingAway.rescue([storedEventNumbered(1), storedEventNumbered(2)]);

    const staying = createPageExitLog('homing');
    expect(idsOf(staying.takeRescued())).toEqual(['e1', 'e2']);
    expect(staying.takeRescued()).toEqual([]);
    expect(staying.take().handedOff).toEqual(new Set(['e9']));
  });

  it('lets the sender adopt rescued events in tracking order, skipping those it holds or has in flight', async () => {
    const store = createMemoryStore();
    const sender = createQueue({ store, maxQueueSize: 100, now: () => 0, onWriteError: () => {} });
    sender.enqueue(eventNumbered(5), 10);
    sender.enqueue(eventNumbered(6), 10);
    sender.takeBatch(1, Infinity);

    const overflow = sender.adopt([storedEventNumbered(8, { seq: 1 }), storedEventNumbered(9, { seq: 2 }), ...(await store.load()).events]);
    await sender.persisted();

    expect(overflow).toEqual([]);
    expect(idsOf(sender.peekBatch(10, Infinity))).toEqual(['e8', 'e9', 'e6']);
    expect(idsOf((await store.load()).events).sort()).toEqual(['e5', 'e6', 'e8', 'e9']);
  });
});
