import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventStore, StoredEvent } from '../src/store/event-store';
import { createFileStore, MIN_LINES_TO_COMPACT } from '../src/store/file';
import { createTracker, type Tracker } from '../src/tracker';
import { idsOf, storedEventNumbered } from './support/events';
import { createRecordingTransport, type RecordedRequest } from './support/recording-transport';
import { settle, useFakeTime } from './support/time';
import { numbered, trackNumbered } from './support/tracker-harness';

const put = (...events: StoredEvent[]) => ({ put: events, remove: [] });
/** Removes the events numbered `ns`, each a run of its own. */
const remove = (...ns: number[]) => ({ put: [], remove: ns.map((n) => storedEventNumbered(n)) });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let dir: string;
let path: string;
/** Trackers a test leaves running (a crashed process's): shut down only once the test is over. */
const trackers: Tracker[] = [];

/** The log's lines, parsed. */
async function logLines(): Promise<Array<{ put?: StoredEvent; remove?: string }>> {
  const text = await readFile(path, 'utf8');
  return text.trim().split('\n').map((line) => JSON.parse(line));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homing-file-store-'));
  path = join(dir, 'events.log');
});

afterEach(async () => {
  await Promise.all(trackers.splice(0).map((tracker) => tracker.shutdown()));
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

describe('the file store', () => {
  it('loads a missing file as an empty store, without creating it', async () => {
    expect(await createFileStore(path).load()).toEqual({ events: [], invalid: 0 });
    expect(await readdir(dir)).toEqual([]);
  });

  it('loads what it was given in seq order, without what it was told to remove', async () => {
    const store = createFileStore(path);

    await store.write(put(storedEventNumbered(3), storedEventNumbered(1)));
    await store.write(put(storedEventNumbered(4), storedEventNumbered(2)));
    await store.write(remove(4));

    expect(await store.load()).toEqual({ events: [storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(3)], invalid: 0 });
  });

  it('replaces an event written again under the same id', async () => {
    const store = createFileStore(path);
    await store.write(put(storedEventNumbered(1), storedEventNumbered(2)));

    await store.write(put(storedEventNumbered(1, { attempts: 1 })));

    expect((await store.load()).events).toEqual([storedEventNumbered(1, { attempts: 1 }), storedEventNumbered(2)]);
  });

  it('gives a restarted process everything the last one wrote', async () => {
    const before = createFileStore(path);
    await before.write(put(storedEventNumbered(2), storedEventNumbered(1)));
    await before.write(put(storedEventNumbered(1, { attempts: 3 })));
    await before.write(remove(2));

    const after = createFileStore(path);

    expect(await after.load()).toEqual({ events: [storedEventNumbered(1, { attempts: 3 })], invalid: 0 });
  });

  it('loses nothing written before a torn last line, and appends cleanly after it', async () => {
    await createFileStore(path).write(put(storedEventNumbered(1), storedEventNumbered(2)));
    const halfALine = JSON.stringify({ put: storedEventNumbered(3) }).slice(0, 40);
    await appendFile(path, halfALine);

    const restarted = createFileStore(path);
    expect(await restarted.load()).toEqual({ events: [storedEventNumbered(1), storedEventNumbered(2)], invalid: 1 });
    await restarted.write(put(storedEventNumbered(4)));

    expect(await createFileStore(path).load()).toEqual({ events: [storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(4)], invalid: 0 });
  });

  it('takes a last line cut off just before its newline, and appends after it on a line of its own', async () => {
    await createFileStore(path).write(put(storedEventNumbered(1)));
    await appendFile(path, JSON.stringify({ put: storedEventNumbered(2) }));

    const restarted = createFileStore(path);
    expect(await restarted.load()).toEqual({ events: [storedEventNumbered(1), storedEventNumbered(2)], invalid: 0 });
    await restarted.write(put(storedEventNumbered(3)));

    expect(await createFileStore(path).load()).toEqual({ events: [storedEventNumbered(1), storedEventNumbered(2), storedEventNumbered(3)], invalid: 0 });
  });

  it('counts a garbage file as invalid records instead of throwing, and starts over clean', async () => {
    const notUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const notOurs = ['not json', '[1, 2]', 'null', JSON.stringify({ put: { id: 'e1' } }), JSON.stringify({ remove: 7 })];
    await writeFile(path, Buffer.concat([notUtf8, Buffer.from(`\n${notOurs.join('\n')}`)]));
    const store = createFileStore(path);

    expect(await store.load()).toEqual({ events: [], invalid: 1 + notOurs.length });
    await store.write(put(storedEventNumbered(1)));

    expect(await createFileStore(path).load()).toEqual({ events: [storedEventNumbered(1)], invalid: 0 });
  });

  it('writes in call order when write() is called again before the last one resolves', async () => {
    const store = createFileStore(path);
    const attempts = range(0, 49);

    await Promise.all(attempts.map((attempt) => store.write(put(storedEventNumbered(1, { attempts: attempt })))));

    expect((await logLines()).map((line) => line.put?.attempts)).toEqual(attempts);
    expect((await createFileStore(path).load()).events).toEqual([storedEventNumbered(1, { attempts: 49 })]);
  });

  it('writes each event as it was when write() was called, not as it is when its turn comes', async () => {
    const store = createFileStore(path);
    const event = storedEventNumbered(1);

    const written = store.write(put(event));
    event.attempts = 9;
    await written;

    expect((await createFileStore(path).load()).events).toEqual([storedEventNumbered(1)]);
  });

  it('compacts the log to exactly the live events once most of its lines are dead, and the file shrinks', async () => {
    const store = createFileStore(path);
    const ids = range(1, MIN_LINES_TO_COMPACT);
    await store.write(put(...ids.map((n) => storedEventNumbered(n))));
    const fullSize = (await stat(path)).size;

    await store.write(remove(...ids.slice(5)));

    expect((await logLines()).map((line) => line.put?.id)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect((await stat(path)).size).toBeLessThan(fullSize / 100);
    expect(await readdir(dir)).toEqual(['events.log']);
    expect(idsOf((await createFileStore(path).load()).events)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('keeps appending to the compacted log', async () => {
    const store = createFileStore(path);
    const ids = range(1, MIN_LINES_TO_COMPACT);
    await store.write(put(...ids.map((n) => storedEventNumbered(n))));
    await store.write(remove(...ids));

    await store.write(put(storedEventNumbered(5_000)));

    expect(await logLines()).toEqual([{ put: storedEventNumbered(5_000) }]);
    expect(idsOf((await createFileStore(path).load()).events)).toEqual(['e5000']);
  });

  it('creates the missing parent directories on its first write', async () => {
    path = join(dir, 'var', 'lib', 'homing', 'events.log');

    await createFileStore(path).write(put(storedEventNumbered(1)));

    expect((await createFileStore(path).load()).events).toEqual([storedEventNumbered(1)]);
  });
});

describe('a tracker on the file store', () => {
  it('delivers, after a restart, every event a crashed process left, exactly once and in order', async () => {
    useFakeTime();
    const failing = createRecordingTransport(() => ({ kind: 'retry', status: 503 }));
    const { store, landed } = withWritesAwaited(createFileStore(path));
    const crashed = createTracker({ endpoint: '/collect', store, transport: failing.transport, random: () => 0.5 });
    trackers.push(crashed);
    trackNumbered(crashed, 1, 5);
    await crashed.flush();
    trackNumbered(crashed, 6, 7);
    await landed();
    // The crash: this process stops here; its backoff timer never fires and it is never shut down.

    const delivering = createRecordingTransport();
    const restarted = createTracker({ endpoint: '/collect', store: createFileStore(path), transport: delivering.transport, random: () => 0.5 });
    await restarted.flush();
    await restarted.shutdown();

    expect(failing.batches()).toEqual([numbered(1, 5)]);
    expect(delivering.batches().flat()).toEqual(numbered(1, 7));
    expect(messageIdsOf(delivering.requests).slice(0, 5)).toEqual(messageIdsOf(failing.requests));
    expect(new Set(messageIdsOf(delivering.requests)).size).toBe(7);
    expect(await createFileStore(path).load()).toEqual({ events: [], invalid: 0 });
  });
});

const messageIdsOf = (requests: RecordedRequest[]) => requests.flatMap((request) => request.payload.batch.map((event) => event.messageId));

/** The store, and a way to wait until every write the tracker has made so far has landed in it. */
function withWritesAwaited(inner: EventStore) {
  const writes: Array<Promise<void>> = [];
  const store: EventStore = {
    kind: inner.kind,
    load: () => inner.load(),
    write(changes) {
      const written = inner.write(changes);
      writes.push(written);
      return written;
    },
  };
  const landed = async () => {
    // The queue writes behind, a task later; a write may set off the next, once it has resolved.
    for (let count = -1; count !== writes.length; ) {
      count = writes.length;
      await Promise.all(writes);
      await settle();
    }
  };
  return { store, landed };
}
