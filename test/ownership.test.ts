import { describe, expect, it } from 'vitest';
import { createOwnership, type Ownership } from '../src/tabs/ownership';
import { createFakeLocks } from './support/fake-locks';
import { settle } from './support/time';

const PREFIX = 'homing:';
type Locks = Parameters<typeof createOwnership>[0];

/** The lock manager of one site, shared by its tabs. */
const siteLocks = () => createFakeLocks();
const asLocks = (locks: ReturnType<typeof createFakeLocks>) => locks as unknown as Locks;

/** A tab owning queue `queue`, recording the queues it adopts. */
function tab(locks: Locks | undefined, queue: string) {
  const adopted: string[] = [];
  const ownership: Ownership = createOwnership(locks, PREFIX, queue, async (name) => void adopted.push(name));
  return { ownership, adopted };
}

/** Whether a promise has settled, after every pending task ran. */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await settle();
  await settle();
  return settled;
}

/** Holds lock `name` as another tab would, until `release()`. */
function holdAsAnotherTab(locks: ReturnType<typeof createFakeLocks>, name: string) {
  let release = () => {};
  void locks.request(name, () => new Promise<void>((resolve) => (release = resolve)));
  return { release: () => release() };
}

describe('owning this tab’s queue', () => {
  it('is ready once the lock of its queue is granted', async () => {
    const locks = siteLocks();
    const other = holdAsAnotherTab(locks, `${PREFIX}a`);
    await settle();

    const { ownership } = tab(asLocks(locks), 'a');
    expect(await hasSettled(ownership.ready())).toBe(false);
    other.release();

    expect(await hasSettled(ownership.ready())).toBe(true);
  });

  it('holds the lock of its queue, named with the prefix, for as long as the page lives', async () => {
    const locks = siteLocks();
    const { ownership } = tab(asLocks(locks), 'a');
    await ownership.ready();
    await settle();

    expect(locks.isBusy(`${PREFIX}a`)).toBe(true);
    expect((await locks.query()).held).toEqual([{ name: `${PREFIX}a`, mode: 'exclusive' }]);
  });

  it('is ready at once where there are no Web Locks', async () => {
    const { ownership } = tab(undefined, 'a');

    expect(await hasSettled(ownership.ready())).toBe(true);
  });

  it('is ready at once where locks.request rejects (a SecurityError in an opaque origin)', async () => {
    const refusing = {
      request: () => Promise.reject(new DOMException('The request was denied.', 'SecurityError')),
      query: () => Promise.reject(new DOMException('The request was denied.', 'SecurityError')),
    } as unknown as Locks;

    const { ownership } = tab(refusing, 'a');

    expect(await hasSettled(ownership.ready())).toBe(true);
    expect(await ownership.held()).toEqual([]);
  });

  it('is ready at once where locks.request throws', async () => {
    const throwing = {
      request: () => {
        throw new TypeError('Illegal invocation');
      },
      query: async () => ({ held: [], pending: [] }),
    } as unknown as Locks;

    expect(await hasSettled(tab(throwing, 'a').ownership.ready())).toBe(true);
  });
});

describe('watching other queues', () => {
  it('adopts at once a queue whose lock nobody holds: an orphan', async () => {
    const locks = siteLocks();
    const { ownership, adopted } = tab(asLocks(locks), 'a');
    await ownership.ready();

    ownership.watch('orphan');
    await settle();

    expect(adopted).toEqual(['orphan']);
  });

  it('resolves watch() once an orphan is adopted', async () => {
    const locks = siteLocks();
    const { ownership, adopted } = tab(asLocks(locks), 'a');
    await ownership.ready();

    await ownership.watch('orphan');

    expect(adopted).toEqual(['orphan']);
  });

  it("resolves watch() of a live tab's queue once it waits for the lock, adopting nothing", async () => {
    const locks = siteLocks();
    holdAsAnotherTab(locks, `${PREFIX}b`);
    const { ownership, adopted } = tab(asLocks(locks), 'a');
    await ownership.ready();

    await ownership.watch('b');

    expect(adopted).toEqual([]);
    expect((await locks.query()).pending).toEqual([{ name: `${PREFIX}b`, mode: 'exclusive' }]);
  });

  it('adopts a queue whose lock is held only once its holder has left', async () => {
    const locks = siteLocks();
    const holder = holdAsAnotherTab(locks, `${PREFIX}b`);
    const { ownership, adopted } = tab(asLocks(locks), 'a');
    await ownership.ready();

    ownership.watch('b');
    await settle();
    expect(adopted).toEqual([]);
    holder.release();
    await settle();
    await settle();

    expect(adopted).toEqual(['b']);
  });

  it('does not watch its own queue, nor a queue twice', async () => {
    const locks = siteLocks();
    const { ownership, adopted } = tab(asLocks(locks), 'a');
    await ownership.ready();
    holdAsAnotherTab(locks, `${PREFIX}b`);
    await settle();

    ownership.watch('a');
    ownership.watch('b');
    ownership.watch('b');
    await settle();

    expect((await locks.query()).pending).toEqual([{ name: `${PREFIX}b`, mode: 'exclusive' }]);
    expect(adopted).toEqual([]);
  });

  it('tells the queues whose locks live tabs hold, by queue name', async () => {
    const locks = siteLocks();
    const a = tab(asLocks(locks), 'a');
    const b = tab(asLocks(locks), 'b');
    holdAsAnotherTab(locks, 'another-tracker:c');
    await a.ownership.ready();
    await b.ownership.ready();
    await settle();

    expect((await a.ownership.held()).sort()).toEqual(['a', 'b']);
  });
});

describe('leaving and coming back', () => {
  it("frees this tab's lock at leave(), so a tab watching its queue adopts it", async () => {
    const locks = siteLocks();
    const leaving = tab(asLocks(locks), 'a');
    const staying = tab(asLocks(locks), 'b');
    await leaving.ownership.ready();
    await staying.ownership.ready();
    staying.ownership.watch('a');
    await settle();
    expect(staying.adopted).toEqual([]);

    leaving.ownership.leave();
    await settle();
    await settle();

    expect(staying.adopted).toEqual(['a']);
  });

  it('stops waiting for the other queues at leave(): it adopts nothing while in the back/forward cache', async () => {
    const locks = siteLocks();
    const holder = holdAsAnotherTab(locks, `${PREFIX}b`);
    const { ownership, adopted } = tab(asLocks(locks), 'a');
    await ownership.ready();
    ownership.watch('b');
    await settle();

    ownership.leave();
    holder.release();
    await settle();
    await settle();

    expect(adopted).toEqual([]);
    expect((await locks.query()).pending).toEqual([]);
  });

  it('watches again after leave(): a queue watched before can be watched anew', async () => {
    const locks = siteLocks();
    const holder = holdAsAnotherTab(locks, `${PREFIX}b`);
    const { ownership, adopted } = tab(asLocks(locks), 'a');
    await ownership.ready();
    ownership.watch('b');
    await settle();
    ownership.leave();
    await settle();
    ownership.rejoin();
    await ownership.ready();

    ownership.watch('b');
    holder.release();
    await settle();
    await settle();

    expect(adopted).toEqual(['b']);
  });

  it('waits for its lock again at rejoin(), which another tab may hold meanwhile', async () => {
    const locks = siteLocks();
    const { ownership } = tab(asLocks(locks), 'a');
    await ownership.ready();
    ownership.leave();
    await settle();
    const adopter = holdAsAnotherTab(locks, `${PREFIX}a`);
    await settle();

    ownership.rejoin();
    expect(await hasSettled(ownership.ready())).toBe(false);
    adopter.release();

    expect(await hasSettled(ownership.ready())).toBe(true);
    expect(locks.isBusy(`${PREFIX}a`)).toBe(true);
  });
});
