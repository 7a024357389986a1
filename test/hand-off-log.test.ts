import { afterEach, describe, expect, it, vi } from 'vitest';
import { createQueue } from '../src/queue';
import { createHandOffLog } from '../src/store/hand-off-log';
import { createMemoryStore } from '../src/store/memory';
import { eventNumbered, idsOf } from './support/events';
import { createLocalStorageStub } from './support/local-storage-stub';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the hand-off log', () => {
  it('keeps the next page load from resending a beacon batch whose store write never committed', async () => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const store = createMemoryStore();
    const first = createQueue({ store, maxQueueSize: 100, now: () => 1, onWriteError: () => {}, handOffLog: createHandOffLog('homing') });
    for (let n = 1; n <= 4; n++) first.enqueue(eventNumbered(n), 10);
    await first.persisted();
    // The page dies right after the beacon: the store never hears of the hand-off.
    const beaconBatch = first.takeBatch(2, Infinity);
    const frozen = structuredClone((await store.load()).events);
    first.handOff(beaconBatch, 2);
    await store.write({ put: frozen, remove: [] });

    const next = createQueue({ store, maxQueueSize: 100, now: () => 3, onWriteError: () => {}, handOffLog: createHandOffLog('homing') });
    const loaded = await next.load();

    expect(loaded.handedOff).toBe(2);
    expect(idsOf(next.takeBatch(10, Infinity))).toEqual(['e3', 'e4']);
  });

  it('is read once: a later page load finds it empty', () => {
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const log = createHandOffLog('homing');
    log.note(['a', 'b']);
    log.note(['c']);

    expect([...log.take()]).toEqual(['a', 'b', 'c']);
    expect(log.take().size).toBe(0);
  });

  it('ignores garbage under its key and works without localStorage', () => {
    vi.stubGlobal('localStorage', createLocalStorageStub({ 'homing:handedOff': '{not json' }));
    expect(createHandOffLog('homing').take().size).toBe(0);
    vi.stubGlobal('localStorage', undefined);
    const log = createHandOffLog('homing');
    expect(() => log.note(['a'])).not.toThrow();
    expect(log.take().size).toBe(0);
  });
});
