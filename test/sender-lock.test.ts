/**
 * One sender per queue: the Web Locks path with a fake `navigator.locks`, the localStorage lease
 * with a stubbed localStorage and fake time, the sole-sender cases, and the nudges between tabs
 * (Node 20 has BroadcastChannel, which links every channel of one name in the process).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock, type Clock } from '../src/clock';
import { createSenderLock, LEASE_MS, type SenderLock } from '../src/sender-lock';
import { createFakeLocks } from './support/fake-locks';
import { createLocalStorageStub } from './support/local-storage-stub';
import { elapse, mortalClock, settle, useFakeTime } from './support/time';

const LOCK = 'homing:sender';

/** A tab's lock and how often it was told it became the sender or was nudged. */
function tab(name = LOCK, clock: Clock = systemClock) {
  const counts = { acquired: 0, nudged: 0 };
  const removed: string[][] = [];
  const lock: SenderLock = createSenderLock(name, clock, {
    acquired: () => counts.acquired++,
    nudged: () => counts.nudged++,
    removed: (ids) => removed.push(ids),
  });
  return { lock, counts, removed };
}

/** localStorage whose every call throws, as in some private modes. */
function throwingStorage(): Storage {
  const blocked = () => {
    throw new DOMException('The operation is insecure.', 'SecurityError');
  };
  return { length: 0, key: blocked, getItem: blocked, setItem: blocked, removeItem: blocked, clear: blocked };
}

/** Each test's own channel name: channels of earlier tests are still open in this process. */
let channelCount = 0;
const freshName = () => `homing-test-${++channelCount}:sender`;

beforeEach(() => {
  useFakeTime();
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('with Web Locks (navigator.locks)', () => {
  let locks: ReturnType<typeof createFakeLocks>;

  beforeEach(() => {
    locks = createFakeLocks();
    vi.stubGlobal('navigator', { locks });
  });

  it('makes the first tab that asks the sender, once the lock is granted', async () => {
    const first = tab();
    expect(first.lock.held).toBe(false);

    await settle();

    expect(first.lock.held).toBe(true);
    expect(first.counts.acquired).toBe(1);
  });

  it('keeps a second tab waiting while the first holds the lock', async () => {
    const first = tab();
    const second = tab();

    await elapse(60_000);

    expect([first.lock.held, second.lock.held]).toEqual([true, false]);
    expect(second.counts.acquired).toBe(0);
  });

  it('passes the lock to the waiting tab when the holder releases it', async () => {
    const first = tab();
    const second = tab();
    await settle();

    first.lock.release();
    expect(first.lock.held).toBe(false);
    await settle();
    await settle();

    expect(second.lock.held).toBe(true);
    expect(second.counts.acquired).toBe(1);
  });

  it('fires acquired once per grant, and again when a tab that gave the lock up gets it back', async () => {
    const first = tab();
    const second = tab();
    await settle();
    first.lock.release();
    first.lock.resume();
    await settle();
    await settle();
    expect([first.lock.held, second.lock.held]).toEqual([false, true]);

    second.lock.release();
    await settle();
    await settle();

    expect([first.lock.held, second.lock.held]).toEqual([true, false]);
    expect(first.counts).toMatchObject({ acquired: 2 });
    expect(second.counts).toMatchObject({ acquired: 1 });
  });

  it('asks only once when resumed while it is still waiting', async () => {
    const first = tab();
    const second = tab();
    await settle();

    second.lock.resume();
    second.lock.resume();
    first.lock.release();
    await settle();
    await settle();
    second.lock.release();
    await settle();
    await settle();

    // One request from the second tab: once it let go, nobody holds or waits for the lock.
    expect(second.counts.acquired).toBe(1);
    expect(locks.isBusy(LOCK)).toBe(false);
  });

  it('is held again after a tab gives the lock up and asks for it again with nobody else waiting', async () => {
    const only = tab();
    await settle();

    only.lock.release();
    only.lock.resume();
    await settle();
    await settle();

    expect(only.lock.held).toBe(true);
    expect(only.counts.acquired).toBe(2);
  });

  it('tells the holder whether another tab waits for the lock, and only for its own lock', async () => {
    const first = tab();
    await settle();
    expect(await first.lock.othersWaiting()).toBe(false);

    const otherQueue = freshName();
    tab(otherQueue);
    tab(otherQueue);
    expect(await first.lock.othersWaiting()).toBe(false);

    tab();
    expect(await first.lock.othersWaiting()).toBe(true);
  });

  it('assumes another tab waits where the lock manager cannot be asked', async () => {
    vi.stubGlobal('navigator', { locks: { request: locks.request, query: () => Promise.reject(new DOMException('denied', 'SecurityError')) } });
    const only = tab();
    await settle();

    expect(await only.lock.othersWaiting()).toBe(true);
  });
});

describe('with a localStorage lease (no Web Locks)', () => {
  let storage: Storage;

  beforeEach(() => {
    vi.stubGlobal('navigator', {});
    storage = createLocalStorageStub();
    vi.stubGlobal('localStorage', storage);
  });

  const leaseEnd = () => Number(storage.getItem(LOCK)!.split(':')[1]);

  it('makes the first tab the sender at once and not the second', () => {
    const first = tab();
    const second = tab();

    expect([first.lock.held, second.lock.held]).toEqual([true, false]);
    expect([first.counts.acquired, second.counts.acquired]).toEqual([1, 0]);
    expect(leaseEnd()).toBe(Date.now() + LEASE_MS);
  });

  it('keeps the lease while its holder renews it', async () => {
    const first = tab();
    const second = tab();

    await elapse(10 * LEASE_MS);

    expect([first.lock.held, second.lock.held]).toEqual([true, false]);
    expect(leaseEnd()).toBeGreaterThan(Date.now());
    expect([first.counts.acquired, second.counts.acquired]).toEqual([1, 0]);
  });

  it('goes to another tab once a holder that died stopped renewing it and the lease ran out', async () => {
    const dying = mortalClock();
    const first = tab(LOCK, dying.clock);
    const second = tab();
    dying.die();

    await elapse(LEASE_MS - 1);
    expect(second.lock.held).toBe(false);
    // The other tab looks again at least once per lease: it has taken over a lease later.
    await elapse(LEASE_MS);

    expect(second.lock.held).toBe(true);
    expect(second.counts.acquired).toBe(1);
    expect(first.counts.acquired).toBe(1);
  });

  it('frees the lease at once on release(), so a tab opened next is the sender straight away', () => {
    const first = tab();

    first.lock.release();
    const next = tab();

    expect(first.lock.held).toBe(false);
    expect(next.lock.held).toBe(true);
  });

  it('lets a waiting tab take over well before the lease would have run out after release()', async () => {
    const first = tab();
    const second = tab();

    first.lock.release();
    await elapse(LEASE_MS / 2);

    expect([first.lock.held, second.lock.held]).toEqual([false, true]);
  });

  it('takes the lease back on resume() when it is free', () => {
    const first = tab();
    first.lock.release();

    first.lock.resume();

    expect(first.lock.held).toBe(true);
    expect(first.counts.acquired).toBe(2);
  });

  it('does not take the lease on resume() while another tab holds it', async () => {
    const first = tab();
    first.lock.release();
    const second = tab();

    first.lock.resume();
    await elapse(3 * LEASE_MS);

    expect([first.lock.held, second.lock.held]).toEqual([false, true]);
  });

  it('treats an unreadable lease as free rather than blocking every tab for good', () => {
    storage.setItem(LOCK, 'garbage');

    expect(tab().lock.held).toBe(true);
  });

  it('behaves as the only sender where every storage call throws, and release() does not throw', () => {
    vi.stubGlobal('localStorage', throwingStorage());
    const only = tab();

    expect(only.lock.held).toBe(true);
    expect(() => only.lock.release()).not.toThrow();
    expect(() => only.lock.resume()).not.toThrow();
    expect(only.lock.held).toBe(true);
  });

  it('cannot tell whether another tab waits, so assumes one does', async () => {
    expect(await tab().lock.othersWaiting()).toBe(true);
  });
});

describe('with neither Web Locks nor localStorage (Node)', () => {
  beforeEach(() => {
    vi.stubGlobal('navigator', undefined);
    vi.stubGlobal('localStorage', undefined);
  });

  it('assumes another tab or worker may share the queue', async () => {
    expect(await tab().lock.othersWaiting()).toBe(true);
  });

  it('is always the sender, whatever it is told', () => {
    const first = tab();
    const second = tab();

    first.lock.release();
    second.lock.resume();

    expect([first.lock.held, second.lock.held]).toEqual([true, true]);
  });

  it('is always the sender where reading localStorage throws', () => {
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw new DOMException('The operation is insecure.', 'SecurityError');
      },
    });
    try {
      expect(tab().lock.held).toBe(true);
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });
});

describe('nudges between tabs', () => {
  beforeEach(() => {
    vi.stubGlobal('navigator', undefined);
    vi.stubGlobal('localStorage', undefined);
    vi.useRealTimers();
  });

  it('reach every other lock of the same name over a BroadcastChannel, not the sender itself', async () => {
    const name = freshName();
    const sender = tab(name);
    const other = tab(name);
    const third = tab(name);

    other.lock.nudge();

    await vi.waitFor(() => expect(sender.counts.nudged).toBe(1));
    await vi.waitFor(() => expect(third.counts.nudged).toBe(1));
    expect(other.counts.nudged).toBe(0);
  });

  it('carry the ids one tab removed after a final answer to every other tab, apart from nudges', async () => {
    const name = freshName();
    const sender = tab(name);
    const other = tab(name);

    sender.lock.announceRemoved(['e1', 'e2']);

    await vi.waitFor(() => expect(other.removed).toEqual([['e1', 'e2']]));
    expect(other.counts.nudged).toBe(0);
    expect(sender.removed).toEqual([]);
  });

  it('never keep a Node process alive: the channel is unref\'d', () => {
    const channels: Array<{ unrefs: number }> = [];
    vi.stubGlobal(
      'BroadcastChannel',
      class {
        onmessage: unknown = null;
        unrefs = 0;
        constructor() {
          channels.push(this);
        }
        postMessage() {}
        unref() {
          this.unrefs++;
        }
      },
    );

    tab(freshName());

    expect(channels.map((channel) => channel.unrefs)).toEqual([1]);
  });

  it('do not reach the locks of another queue', async () => {
    const name = freshName();
    const mine = tab(name);
    const elsewhere = tab(freshName());
    const other = tab(name);

    other.lock.nudge();

    await vi.waitFor(() => expect(mine.counts.nudged).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(elsewhere.counts.nudged).toBe(0);
  });
});
