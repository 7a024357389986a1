/**
 * The seam between the collector and where accepted events go. A sink is a small object:
 *
 *   { name, write(events) → Promise<void>, health() → SinkHealth, close() → Promise<void> }
 *
 * `write` resolves only once the events are durably handed over (the file's write returned, the
 * log acknowledged each one, the relay's target answered 2xx); the collector answers 2xx only after
 * every sink resolved. A sink that is down, or has more than its bound in flight, rejects at once
 * with a {@link SinkUnavailableError} instead of queueing: the collector then answers 503 with
 * `Retry-After`, and the sender keeps the events. No sink buffers without a limit.
 *
 * Implementations: `file.mjs` (NDJSON, the default), `jetstream.mjs` (NATS JetStream),
 * `forward.mjs` (any Segment-compatible HTTP endpoint). `config.mjs` builds them from
 * `COLLECTOR_SINKS`.
 */

/**
 * @typedef {'up' | 'connecting' | 'down' | 'lagging'} SinkState
 *   up: takes writes; connecting: not yet reached; down: unreachable or failing; lagging: more in
 *   flight than its bound
 */

/**
 * @typedef {{ name: string, state: SinkState, reason?: string, retryAfterMs?: number } & Record<string, unknown>} SinkHealth
 *   `retryAfterMs`: when the sink expects to take writes again, if it knows
 */

/**
 * @typedef {object} Sink
 * @property {string} name names the sink in `/health` and in 503 answers, e.g. `file`, `jetstream`
 * @property {(events: object[]) => Promise<void>} write stores the events; rejects when they are not stored
 * @property {() => SinkHealth} health the sink's state now, cheap enough to read on every request
 * @property {() => Promise<void>} close lets what is in flight finish and releases the connection or file
 */

/** A sink refused or failed a write: nothing of it may be acknowledged to the sender. */
export class SinkUnavailableError extends Error {
  /**
   * @param {string} sink the sink's name
   * @param {string} reason a short keyword: `down`, `connecting`, `lagging`, `failed`, `timeout`
   * @param {{ cause?: unknown, retryAfterMs?: number }} [details]
   */
  constructor(sink, reason, { cause, retryAfterMs } = {}) {
    super(`${sink} sink ${reason}`, { cause });
    this.name = 'SinkUnavailableError';
    this.sink = sink;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}
