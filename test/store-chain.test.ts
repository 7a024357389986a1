import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Backend, StoredEvent, StoreKind } from '../src/store/event-store';
import { unusable } from '../src/store/event-store';
import { createIndexedDbBackend } from '../src/store/indexeddb';
import { createLocalStorageBackend } from '../src/store/local-storage';
import { createMemoryBackend } from '../src/store/memory';
import { createStoreChain, STORE_TIMEOUT_MS } from '../src/store/store-chain';
import { idsOf, storedEventNumbered } from './support/events';
import { createLocalStorageStub } from './support/local-storage-stub';
import { elapse, useFakeTime } from './support/time';

const NAME = 'homing-test';
/** This tab's queue. */
const OWN = 'tab-own';
const quotaExceeded = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
const put = (...events: StoredEvent[]) => ({ put: events, remove: [] });
const numbered = (...ns: number[]) => ns.map((n) => storedEventNumbered(n));

interface Behaviour {
  load?: () => Promise<never>;
  /** Called with the count of writes so far; a promise replaces the write. */
  write?: (calls: number) => Promise<void> | undefined;
}

/** A backend of the given kind, in memory, whose queues load and write as told. */
function fakeBackend(kind: StoreKind, behaviour: Behaviour = {}) {
  const inner = createMemoryBackend();
  let writes = 0;
  const backend: Backend = {
    kind,
    open(queue) {
      const store = inner.open(queue);
      return {
        kind,
        load: () => behaviour.load?.() ?? store.load(),
        write: (changes) => behaviour.write?.(++writes) ?? store.write(changes),
      };
    },
    queues: () => inner.queues(),
  };
  /** What queue `queue` holds, read past the behaviour. */
  const held = async (queue = OWN) => idsOf((await inner.open(queue).load()).events);
  /** Writes straight into the backend, as an earlier page would have. */
  const seed = (queue: string, ...events: StoredEvent[]) => inner.open(queue).write(put(...events));
  return { backend, held, seed };
}

const never = () => new Promise<never>(() => {});
const rejectWith = (error: unknown) => () => Promise.reject(error);
/** Writes succeed `n` times, then throw QuotaExceededError. */
const writesFailAfter = (n: number) => (calls: number) => (calls > n ? Promise.reject(quotaExceeded()) : undefined);

function chainOf(...candidates: Array<() => Backend>) {
  const fallbacks: Array<{ from: StoreKind; to: StoreKind; cause: unknown }> = [];
  const chain = createStoreChain(candidates, OWN, (from, to, cause) => fallbacks.push({ from, to, cause }));
  return { chain, fallbacks, steps: () => fallbacks.map(({ from, to }) => `${from} > ${to}`) };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("this tab's queue in the chain", () => {
  it('lives in the first store that works, and nothing is reported', async () => {
    const indexedDb = fakeBackend('indexeddb');
    const { chain, fallbacks } = chainOf(() => indexedDb.backend, () => fakeBackend('localstorage').backend);

    await chain.own.load();
    await chain.own.write(put(...numbered(1)));

    expect(chain.kind).toBe('indexeddb');
    expect(chain.own.kind).toBe('indexeddb');
    expect(await indexedDb.held()).toEqual(['e1']);
    expect(fallbacks).toEqual([]);
  });

  it('skips, silently, a store the runtime does not have', async () => {
    const { chain, fallbacks } = chainOf(
      () => {
        throw new Error('IndexedDB is not available');
      },
      () => fakeBackend('memory').backend,
    );

    await chain.own.load();

    expect(chain.kind).toBe('memory');
    expect(fallbacks).toEqual([]);
  });

  it('reports as a fallback a store the runtime has but that refuses to work (unusable)', async () => {
    const securityError = new DOMException('access denied', 'SecurityError');
    const { chain, steps, fallbacks } = chainOf(
      () => {
        throw unusable('indexeddb', securityError);
      },
      () => fakeBackend('localstorage').backend,
    );

    await chain.own.load();

    expect(chain.kind).toBe('localstorage');
    expect(steps()).toEqual(['indexeddb > localstorage']);
    expect(fallbacks[0]!.cause).toMatchObject({ unusable: 'indexeddb', cause: securityError });
  });

  it('falls back IndexedDB ▸ localStorage ▸ memory when loading fails, reporting each step', async () => {
    const error = new Error('broken');
    const { chain, steps, fallbacks } = chainOf(
      () => fakeBackend('indexeddb', { load: rejectWith(error) }).backend,
      () => fakeBackend('localstorage', { load: rejectWith(error) }).backend,
      () => fakeBackend('memory').backend,
    );

    await chain.own.load();

    expect(chain.kind).toBe('memory');
    expect(steps()).toEqual(['indexeddb > localstorage', 'localstorage > memory']);
    expect(fallbacks[0]!.cause).toBe(error);
  });

  it('falls back when a store does not answer its load within STORE_TIMEOUT_MS (a blocked IndexedDB open)', async () => {
    useFakeTime();
    const { chain, steps } = chainOf(() => fakeBackend('indexeddb', { load: never }).backend, () => fakeBackend('localstorage').backend);
    let loaded = false;
    void chain.own.load().then(() => (loaded = true));

    await elapse(STORE_TIMEOUT_MS - 1);
    expect(loaded).toBe(false);
    await elapse(1);

    expect(loaded).toBe(true);
    expect(chain.kind).toBe('localstorage');
    expect(steps()).toEqual(['indexeddb > localstorage']);
  });

  it('moves with every event it holds to the next store when a write fails mid-life, and reports it once', async () => {
    const indexedDb = fakeBackend('indexeddb', { write: writesFailAfter(1) });
    const localStorage = fakeBackend('localstorage');
    const { chain, steps, fallbacks } = chainOf(() => indexedDb.backend, () => localStorage.backend);
    await chain.own.load();
    await chain.own.write(put(...numbered(1, 2)));

    await chain.own.write({ put: numbered(3), remove: numbered(1) });
    await chain.own.write(put(...numbered(4)));

    expect(await localStorage.held()).toEqual(['e2', 'e3', 'e4']);
    expect(chain.kind).toBe('localstorage');
    expect(steps()).toEqual(['indexeddb > localstorage']);
    expect(fallbacks[0]!.cause).toMatchObject({ name: 'QuotaExceededError' });
  });

  it('moves on again when the next store fails too, still carrying every event', async () => {
    const { chain, steps } = chainOf(
      () => fakeBackend('indexeddb', { write: writesFailAfter(1) }).backend,
      () => fakeBackend('localstorage', { write: writesFailAfter(0) }).backend,
      () => fakeBackend('memory').backend,
    );
    await chain.own.load();
    await chain.own.write(put(...numbered(1)));

    await chain.own.write(put(...numbered(2)));

    expect(chain.kind).toBe('memory');
    expect(idsOf((await chain.own.load()).events)).toEqual(['e1', 'e2']);
    expect(steps()).toEqual(['indexeddb > localstorage', 'localstorage > memory']);
  });

  it('falls back one step, not two, when a load and a write were both waiting on the store that hangs', async () => {
    useFakeTime();
    const localStorage = fakeBackend('localstorage');
    const { chain, steps } = chainOf(() => fakeBackend('indexeddb', { load: never, write: () => never() }).backend, () => localStorage.backend, () => fakeBackend('memory').backend);

    const loading = chain.own.load();
    const writing = chain.own.write(put(...numbered(1)));
    await elapse(STORE_TIMEOUT_MS);
    await Promise.all([loading, writing]);

    expect(chain.kind).toBe('localstorage');
    expect(steps()).toEqual(['indexeddb > localstorage']);
    expect(await localStorage.held()).toEqual(['e1']);
  });

  it('carries the events written to a store whose load then failed', async () => {
    let failLoad: (error: Error) => void = () => {};
    const localStorage = fakeBackend('localstorage');
    const { chain } = chainOf(() => fakeBackend('indexeddb', { load: () => new Promise<never>((_resolve, reject) => (failLoad = reject)) }).backend, () => localStorage.backend);

    const loading = chain.own.load();
    await chain.own.write(put(...numbered(1)));
    failLoad(new Error('version change blocked'));
    await loading;

    expect(chain.kind).toBe('localstorage');
    expect(await localStorage.held()).toEqual(['e1']);
  });

  it('rejects instead of falling back when it is a chain of one (a custom store), and the error is the store’s', async () => {
    const failure = quotaExceeded();
    const custom = fakeBackend('custom', { write: () => Promise.reject(failure), load: rejectWith(failure) });
    const { chain, fallbacks } = chainOf(() => custom.backend);

    await expect(chain.own.write(put(...numbered(1)))).rejects.toBe(failure);
    await expect(chain.own.load()).rejects.toBe(failure);
    expect(chain.kind).toBe('custom');
    expect(fallbacks).toEqual([]);
  });
});

describe('reading and forgetting queues', () => {
  it('reads a queue from the store in use and every store below it, merged by id, in seq order', async () => {
    const localStorage = fakeBackend('localstorage');
    const memory = fakeBackend('memory');
    await localStorage.seed('orphan', ...numbered(1, 3));
    await memory.seed('orphan', ...numbered(2, 4), storedEventNumbered(3, { attempts: 2 }));
    const { chain } = chainOf(() => localStorage.backend, () => memory.backend);

    const { events } = await chain.read('orphan');

    expect(idsOf(events)).toEqual(['e1', 'e2', 'e3', 'e4']);
  });

  it('does not read the stores above the one in use: those failed', async () => {
    const indexedDb = fakeBackend('indexeddb', { write: writesFailAfter(0) });
    const localStorage = fakeBackend('localstorage');
    await indexedDb.seed('orphan', ...numbered(1));
    await localStorage.seed('orphan', ...numbered(2));
    const { chain } = chainOf(() => indexedDb.backend, () => localStorage.backend);
    await chain.own.write(put(...numbered(9)));
    expect(chain.kind).toBe('localstorage');

    expect(idsOf((await chain.read('orphan')).events)).toEqual(['e2']);
  });

  it("reads this tab's own leftovers from a lower store, so nothing written to a fallback is stranded there", async () => {
    const indexedDb = fakeBackend('indexeddb');
    const localStorage = fakeBackend('localstorage');
    await indexedDb.seed(OWN, ...numbered(1));
    await localStorage.seed(OWN, ...numbered(2));
    const { chain } = chainOf(() => indexedDb.backend, () => localStorage.backend);

    expect(idsOf((await chain.own.load()).events)).toEqual(['e1', 'e2']);
  });

  it("names the other queues that hold events in any store, never this tab's own", async () => {
    const indexedDb = fakeBackend('indexeddb');
    const localStorage = fakeBackend('localstorage');
    await indexedDb.seed('tab-b', ...numbered(1));
    await localStorage.seed('tab-c', ...numbered(2));
    await localStorage.seed(OWN, ...numbered(3));
    const { chain } = chainOf(() => indexedDb.backend, () => localStorage.backend);

    expect((await chain.others()).sort()).toEqual(['tab-b', 'tab-c']);
  });

  it('forgets an adopted queue in every store', async () => {
    const indexedDb = fakeBackend('indexeddb');
    const localStorage = fakeBackend('localstorage');
    await indexedDb.seed('orphan', ...numbered(1));
    await localStorage.seed('orphan', ...numbered(2));
    const { chain } = chainOf(() => indexedDb.backend, () => localStorage.backend);
    const { events } = await chain.read('orphan');

    await chain.forget('orphan', events);

    expect(await indexedDb.held('orphan')).toEqual([]);
    expect(await localStorage.held('orphan')).toEqual([]);
  });

  it("forgets this tab's leftovers in every store but the one its queue lives in, where they now are", async () => {
    const indexedDb = fakeBackend('indexeddb');
    const localStorage = fakeBackend('localstorage');
    await indexedDb.seed(OWN, ...numbered(1));
    await localStorage.seed(OWN, ...numbered(2));
    const { chain } = chainOf(() => indexedDb.backend, () => localStorage.backend);
    const { events } = await chain.own.load();

    await chain.forget(OWN, events);

    expect(await indexedDb.held()).toEqual(['e1']);
    expect(await localStorage.held()).toEqual([]);
  });
});

describe('a rescue as the page goes away', () => {
  let localStorage: Storage;
  beforeEach(() => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    vi.stubGlobal('IDBKeyRange', IDBKeyRange);
    localStorage = createLocalStorageStub();
    vi.stubGlobal('localStorage', localStorage);
  });
  const browserChain = () => chainOf(() => createIndexedDbBackend(NAME), () => createLocalStorageBackend(NAME), createMemoryBackend);
  const rescued = (): string[] => idsOf(JSON.parse(localStorage.getItem(`${NAME}:queue:${OWN}`) ?? '[]'));

  it('writes to localStorage synchronously when the queue lives in IndexedDB', async () => {
    const { chain } = browserChain();
    await chain.own.load();
    expect(chain.kind).toBe('indexeddb');

    chain.rescue(numbered(1, 2));

    expect(rescued()).toEqual(['e1', 'e2']);
  });

  it('is read back with the queue on the next load', async () => {
    const { chain } = browserChain();
    await chain.own.load();
    chain.rescue(numbered(1));

    const nextPageLoad = browserChain().chain;

    expect(idsOf((await nextPageLoad.own.load()).events)).toEqual(['e1']);
  });

  it('writes nothing more when the queue lives in localStorage already', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const { chain } = browserChain();
    await chain.own.load();
    expect(chain.kind).toBe('localstorage');

    chain.rescue(numbered(1));

    expect(rescued()).toEqual([]);
  });
});
