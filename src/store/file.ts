/**
 * Queued events in an append-only log file, for Node: a process that dies (crash, kill, deploy)
 * leaves its events to the next process started on the same file.
 *
 * Format: one JSON line per change, `{"put":<StoredEvent>}` or `{"remove":"<id>"}`, replayed in
 * order by `load()`. A write appends its lines and never touches bytes already written, so a
 * crash mid-write can only leave a torn last line: replay discards it (counted in `invalid`) and
 * the log is rewritten before anything is appended after it. Once the log holds far more lines
 * than live events it is compacted: the live events are written to `<path>.tmp`, synced, and
 * renamed over the log, so a crash leaves either the old log or the new one, both whole.
 *
 * Only one process may use a given file at a time: nothing locks it, and two writers would
 * interleave their logs and each compact away the other's events.
 */
// Node's types, which tsconfig.json leaves out of src (`types: []`), for this Node-only file.
/// <reference types="node" />
import { appendFile, mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EventStore, StoredEvent } from './event-store';
import { bySeq, isStoredEvent } from './event-store';

/** A log shorter than this is never compacted: rewriting a small file often would cost more than replaying it. */
export const MIN_LINES_TO_COMPACT = 1_000;
/** Compacting once at least half the lines are dead makes each rewrite pay for itself in appends it saves. */
export const LINES_PER_LIVE_EVENT_TO_COMPACT = 2;

/** What the store remembers of its file: enough to know when to compact, and what to compact it to. */
interface Log {
  /** Each live event's line as written, by id: compaction rewrites exactly what was persisted. */
  live: Map<string, string>;
  /** Lines in the file, dead or alive. */
  length: number;
}

interface ReplayedLog {
  log: Log;
  events: Map<string, StoredEvent>;
  invalid: number;
  /** The file ends with a whole line (or is empty): safe to append to. */
  endsWhole: boolean;
}

export function createFileStore(path: string): EventStore {
  /** Undefined until the file is read, and again after a failed write, which may have torn its last line. */
  let log: Log | undefined;
  /** The end of the last operation: each starts after it, so writes land in call order. */
  let previous: Promise<unknown> = Promise.resolve();

  const serialized = <T>(operation: () => Promise<T>): Promise<T> => {
    const result = previous.then(operation);
    previous = result.catch(() => {});
    return result;
  };

  const compact = async (target: Log) => {
    const temporary = `${path}.tmp`;
    await writeSynced(temporary, [...target.live.values()].join(''));
    await rename(temporary, path);
    target.length = target.live.size;
  };

  /** Reads the file, and rewrites it first if it holds anything that must not stay in front of new lines. */
  const reopen = async () => {
    const replayed = replay(await readLog(path));
    if (replayed.invalid || !replayed.endsWhole) await compact(replayed.log);
    log = replayed.log;
    return replayed;
  };

  const append = async (put: Array<[id: string, line: string]>, remove: string[]) => {
    const current = log ?? (await reopen()).log;
    const text = put.map(([, line]) => line).join('') + remove.map(removeLine).join('');
    if (!text) return;
    try {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, text);
    } catch (error) {
      log = undefined;
      throw error;
    }
    for (const [id, line] of put) current.live.set(id, line);
    for (const id of remove) current.live.delete(id);
    current.length += put.length + remove.length;
    if (current.length >= MIN_LINES_TO_COMPACT && current.length >= current.live.size * LINES_PER_LIVE_EVENT_TO_COMPACT) await compact(current);
  };

  return {
    kind: 'file',
    load: () =>
      serialized(async () => {
        const { events, invalid } = await reopen();
        return { events: [...events.values()].sort(bySeq), invalid };
      }),
    async write({ put, remove }) {
      // Serialized now: the queue goes on changing the events it passed (attempts) while this waits its turn.
      const putLines = put.map((event): [string, string] => [event.id, putLine(event)]);
      return serialized(() => append(putLines, remove.map((event) => event.id)));
    },
  };
}

const putLine = (event: StoredEvent) => `${JSON.stringify({ put: event })}\n`;
const removeLine = (id: string) => `${JSON.stringify({ remove: id })}\n`;

/** The log's text; a missing file is an empty log. */
async function readLog(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** Applies the log's lines in order; a line that is not a whole change of ours is counted and skipped. */
function replay(text: string): ReplayedLog {
  const replayed: ReplayedLog = { log: { live: new Map(), length: 0 }, events: new Map(), invalid: 0, endsWhole: !text || text.endsWith('\n') };
  const { log, events } = replayed;
  for (const line of text.split('\n')) {
    if (!line) continue;
    log.length++;
    const change = parseLine(line);
    if (isStoredEvent(change?.put)) {
      log.live.set(change.put.id, `${line}\n`);
      events.set(change.put.id, change.put);
    } else if (typeof change?.remove === 'string') {
      log.live.delete(change.remove);
      events.delete(change.remove);
    } else {
      replayed.invalid++;
    }
  }
  return replayed;
}

function parseLine(line: string): { put?: unknown; remove?: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the file and waits for the disk: the rename that follows must never put an empty file in the log's place. */
async function writeSynced(path: string, text: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}
