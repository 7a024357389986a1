import { describe, expect, it } from 'vitest';
import { createWriteBehind } from '../src/queue/write-behind';
import type { EventStore, StoreChanges } from '../src/store/event-store';
import { createMemoryStore } from '../src/store/memory';
import { idsOf, storedEventNumbered } from './support/events';
import { settle } from './support/time';

const numbered = (...ns: number[]) => ns.map((n) => storedEventNumbered(n));
/** A write as ids: what was put, and the runs removed. */
const idsOfWrite = ({ put, remove }: StoreChanges) => ({ put: idsOf(put), remove: idsOf(remove) });

/** A memory store that records each write; while `hold` is on, writes wait until `release()`. */
function recordingStore(fail?: (call: number) => unknown) {
  const inner = createMemoryStore();
  const writes: StoreChanges[] = [];
  const held: Array<() => void> = [];
  let hold = false;
  const store: EventStore = {
    kind: 'memory',
    load: () => inner.load(),
    async write(changes) {
      writes.push(changes);
      const failure = fail?.(writes.length);
      if (hold) await new Promise<void>((resolve) => held.push(resolve));
      if (failure) throw failure;
      return inner.write(changes);
    },
  };
  return {
    store,
    writes,
    stored: async () => idsOf((await inner.load()).events),
    hold: () => (hold = true),
    release() {
      hold = false;
      held.splice(0).forEach((resume) => resume());
    },
  };
}

function writeBehindOn(recording: ReturnType<typeof recordingStore>, options: { ready?: () => Promise<unknown>; mayWrite?: () => boolean } = {}) {
  const errors: unknown[] = [];
  const writes = createWriteBehind(recording.store, options.ready ?? (() => Promise.resolve()), options.mayWrite ?? (() => true), (error) => errors.push(error));
  return { writes, errors };
}

describe('the write-behind', () => {
  it('joins every change made in one task into one write', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);

    writes.put(numbered(1));
    writes.put(numbered(2, 3));
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite)).toEqual([{ put: ['e1', 'e2', 'e3'], remove: [] }]);
  });

  it('writes the changes of a later task in a write of its own', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);
    writes.put(numbered(1));
    await settle();

    writes.put(numbered(2));
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite)).toEqual([
      { put: ['e1'], remove: [] },
      { put: ['e2'], remove: [] },
    ]);
  });

  it('starts a write only once the one before it has finished, with everything changed meanwhile', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);
    recording.hold();
    writes.put(numbered(1));
    await settle();

    writes.put(numbered(2));
    await settle();
    writes.put(numbered(3));
    await settle();
    expect(recording.writes).toHaveLength(1);
    recording.release();
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite)).toEqual([
      { put: ['e1'], remove: [] },
      { put: ['e2', 'e3'], remove: [] },
    ]);
  });

  it('writes nothing until `ready` resolves (the tab owns its queue)', async () => {
    const recording = recordingStore();
    let owned = () => {};
    const ready = new Promise<void>((resolve) => (owned = resolve));
    const { writes } = writeBehindOn(recording, { ready: () => ready });

    writes.put(numbered(1));
    await settle();
    expect(recording.writes).toEqual([]);
    owned();
    await writes.persisted();

    expect(await recording.stored()).toEqual(['e1']);
  });

  it('never writes a put cancelled before it was written (an overflow, a fast delivery)', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);

    writes.put(numbered(1, 2));
    writes.remove(numbered(1));
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite)).toEqual([{ put: ['e2'], remove: [] }]);
  });

  it('writes nothing at all when every put was cancelled in its task', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);

    writes.put(numbered(1, 2));
    writes.remove(numbered(1, 2));
    await writes.persisted();
    await settle();

    expect(recording.writes).toEqual([]);
  });

  it('turns the remove of a written event into a delete', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);
    writes.put(numbered(1, 2));
    await writes.persisted();

    writes.remove(numbered(1));
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite).at(-1)).toEqual({ put: [], remove: ['e1'] });
    expect(await recording.stored()).toEqual(['e2']);
  });

  it('deletes only the events it wrote: a removed event whose put was never written needs no delete', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);
    writes.put(numbered(1, 2));
    await writes.persisted();

    writes.put(numbered(3));
    writes.remove(numbered(1, 2, 3));
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite).at(-1)).toEqual({ put: [], remove: ['e1', 'e2'] });
  });

  it('deletes an event removed while its put is being written', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);
    const events = numbered(1);
    recording.hold();
    writes.put(events);
    await settle();

    writes.remove(events);
    recording.release();
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite)).toEqual([
      { put: ['e1'], remove: [] },
      { put: [], remove: ['e1'] },
    ]);
    expect(await recording.stored()).toEqual([]);
  });

  it('writes nothing while storage may not be used (consent pending), and everything once it may and something is put', async () => {
    const recording = recordingStore();
    let consented = false;
    const { writes } = writeBehindOn(recording, { mayWrite: () => consented });

    writes.put(numbered(1, 2));
    await writes.persisted();
    expect(recording.writes).toEqual([]);
    consented = true;
    writes.put(numbered(3));
    await writes.persisted();

    expect(recording.writes.map(idsOfWrite)).toEqual([{ put: ['e1', 'e2', 'e3'], remove: [] }]);
  });

  it('lists as unconfirmed the puts under way and the puts waiting, and none once the store confirmed them', async () => {
    const recording = recordingStore();
    const { writes } = writeBehindOn(recording);
    recording.hold();
    writes.put(numbered(1));
    await settle();
    writes.put(numbered(2));

    expect(idsOf(writes.unconfirmed())).toEqual(['e1', 'e2']);
    recording.release();
    await writes.persisted();
    expect(writes.unconfirmed()).toEqual([]);
  });

  it('does not list as unconfirmed a put that was cancelled', () => {
    const { writes } = writeBehindOn(recordingStore());

    writes.put(numbered(1, 2));
    writes.remove(numbered(1));

    expect(idsOf(writes.unconfirmed())).toEqual(['e2']);
  });

  it('reports a failing write, and writes again at the next change', async () => {
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const recording = recordingStore((call) => (call === 1 ? quota : undefined));
    const { writes, errors } = writeBehindOn(recording);
    writes.put(numbered(1));
    await writes.persisted();
    expect(errors).toEqual([quota]);

    writes.put(numbered(2));
    await writes.persisted();

    expect(recording.writes).toHaveLength(2);
    expect(idsOf(recording.writes[1]!.put)).toContain('e2');
    expect(await recording.stored()).toContain('e2');
    expect(errors).toHaveLength(1);
  });

  it('resolves persisted() at once when nothing is to be written', async () => {
    const { writes } = writeBehindOn(recordingStore());
    let done = false;

    void writes.persisted().then(() => (done = true));
    await Promise.resolve();
    await Promise.resolve();

    expect(done).toBe(true);
  });
});
