/**
 * The default sink: appends each event as one line of JSON to a file. Embedded, nothing to run,
 * one file per collector process.
 */
import { createWriteStream } from 'node:fs';
import { SinkUnavailableError } from './sink.mjs';

/**
 * Bytes handed to the file but not yet written past which it refuses writes: a disk slower than
 * the senders then answers 503 rather than filling the heap. 16 MiB is about 30 full batches.
 */
export const DEFAULT_MAX_FILE_BACKLOG_BYTES = 16 * 1024 * 1024;

/**
 * Creates an NDJSON file sink. `write` resolves once the lines have been written to the file
 * (the operating system has them; a crash of this process cannot lose them).
 * @param {object} options
 * @param {string} options.file the file, created if missing, appended to
 * @param {number} [options.maxBacklogBytes] default {@link DEFAULT_MAX_FILE_BACKLOG_BYTES}
 * @returns {import('./sink.mjs').Sink}
 */
export function createFileSink({ file, maxBacklogBytes = DEFAULT_MAX_FILE_BACKLOG_BYTES }) {
  const name = 'file';
  const log = createWriteStream(file, { flags: 'a' });
  /** @type {Error | undefined} the stream's error; a file stream that failed writes nothing more */
  let failure;
  log.on('error', (error) => (failure = error));

  const isLagging = () => log.writableLength > maxBacklogBytes;

  return {
    name,
    write(events) {
      if (failure) return Promise.reject(new SinkUnavailableError(name, 'failed', { cause: failure }));
      if (isLagging()) return Promise.reject(new SinkUnavailableError(name, 'lagging'));
      if (events.length === 0) return Promise.resolve();
      const lines = events.map((event) => `${JSON.stringify(event)}\n`).join('');
      return new Promise((resolve, reject) => {
        log.write(lines, (error) => (error ? reject(new SinkUnavailableError(name, 'failed', { cause: error })) : resolve()));
      });
    },
    health() {
      const backlogBytes = log.writableLength;
      if (failure) return { name, state: 'down', reason: failure.message, file };
      return { name, state: isLagging() ? 'lagging' : 'up', file, backlogBytes };
    },
    close() {
      return new Promise((resolve) => {
        if (log.destroyed) return resolve();
        log.end(() => resolve());
        log.once('error', () => resolve());
      });
    },
  };
}
