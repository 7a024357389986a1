/**
 * A sink that publishes each event to a NATS JetStream stream, with the `Nats-Msg-Id` header set
 * to its `messageId`. JetStream drops a message whose id it stored within the stream's duplicate
 * window, so a retry that lands on another collector process is stored once: the log, not the
 * collector, holds the dedupe state that must be shared.
 *
 * `write` resolves once JetStream acknowledged every event (stored, or known as a duplicate).
 * While the connection is down, or more than `maxPendingEvents` await their ack, it rejects at
 * once; the client keeps reconnecting in the background, forever.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SinkUnavailableError } from './sink.mjs';

/** Segment dedupes on messageId over 24 hours; JetStream's window does the same for the stream. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The stream that holds the events, unless told otherwise. */
export const DEFAULT_STREAM = 'homing';
/** Events go to `<prefix>.<type>` (homing.events.track, ...), so a consumer can take one type. */
export const DEFAULT_SUBJECT_PREFIX = 'homing.events';
/**
 * Events published and not yet acknowledged past which the sink refuses writes (a log slower
 * than the senders), so their request bodies do not pile up in the heap: 200 full batches.
 */
export const DEFAULT_MAX_PENDING_EVENTS = 10_000;
/** A publish whose ack has not come by then failed; the sender retries, and the id dedupes. */
export const DEFAULT_ACK_TIMEOUT_MS = 5_000;
/** A collector must notice a restarted server within a Retry-After, not the client's default 2 s. */
const RECONNECT_WAIT_MS = 250;
/** A stream check without an answer by then leaves the sink down until the next (re)connect or failed publish. */
const STREAM_CHECK_TIMEOUT_MS = 2_000;
/** Closing waits this long for acks still in flight; a server that is down would hold it for ever. */
const DRAIN_TIMEOUT_MS = 2_000;
const NANOSECONDS_PER_MS = 1_000_000;

/**
 * Creates a JetStream sink and starts connecting; `health()` says `connecting` until it has.
 * @param {object} options
 * @param {string | string[]} options.servers e.g. `127.0.0.1:4222`
 * @param {string} [options.stream] default {@link DEFAULT_STREAM}; created when missing
 * @param {string} [options.subjectPrefix] default {@link DEFAULT_SUBJECT_PREFIX}
 * @param {number} [options.duplicateWindowMs] default {@link DEFAULT_DUPLICATE_WINDOW_MS}
 * @param {number} [options.maxPendingEvents] default {@link DEFAULT_MAX_PENDING_EVENTS}
 * @param {number} [options.ackTimeoutMs] default {@link DEFAULT_ACK_TIMEOUT_MS}
 * @returns {import('./sink.mjs').Sink}
 */
export function createJetStreamSink({
  servers,
  stream = DEFAULT_STREAM,
  subjectPrefix = DEFAULT_SUBJECT_PREFIX,
  duplicateWindowMs = DEFAULT_DUPLICATE_WINDOW_MS,
  maxPendingEvents = DEFAULT_MAX_PENDING_EVENTS,
  ackTimeoutMs = DEFAULT_ACK_TIMEOUT_MS,
}) {
  const name = 'jetstream';
  const link = connectForever({ servers, stream, subjectPrefix, duplicateWindowMs });
  let pendingEvents = 0;

  return {
    name,
    async write(events) {
      const js = link.client();
      if (!js) throw new SinkUnavailableError(name, link.state());
      if (pendingEvents + events.length > maxPendingEvents) throw new SinkUnavailableError(name, 'lagging');
      pendingEvents += events.length;
      try {
        const acks = Promise.all(
          events.map((event) =>
            js.publish(`${subjectPrefix}.${event.type}`, JSON.stringify(event), {
              msgID: event.messageId,
              timeout: ackTimeoutMs,
              expect: { streamName: stream },
            }),
          ),
        );
        // Acks cannot come over a lost connection: answer now rather than at the ack timeout.
        let stopWatching = () => {};
        const lostConnection = new Promise((_resolve, reject) => {
          stopWatching = link.onDisconnect(() => reject(new Error('disconnected from NATS')));
        });
        try {
          await Promise.race([acks, lostConnection]);
        } finally {
          stopWatching();
        }
      } catch (cause) {
        link.suspectStream();
        throw new SinkUnavailableError(name, 'failed', { cause });
      } finally {
        pendingEvents -= events.length;
      }
    },
    health() {
      const state = link.client() ? (pendingEvents >= maxPendingEvents ? 'lagging' : 'up') : link.state();
      return { name, state, servers, stream, pendingEvents, ...(link.lastError() ? { reason: link.lastError() } : {}) };
    },
    close: () => link.close(),
  };
}

/**
 * Keeps one connection to NATS, reconnecting for ever, and makes sure the stream exists after
 * each (re)connect. `client()` is the JetStream client while both hold, undefined otherwise.
 */
function connectForever({ servers, stream, subjectPrefix, duplicateWindowMs }) {
  /** @type {import('@nats-io/transport-node').NatsConnection | undefined} */
  let connection;
  /** @type {import('@nats-io/jetstream').JetStreamClient | undefined} */
  let client;
  /** @type {'connecting' | 'down' | 'up'} */
  let state = 'connecting';
  /** @type {string | undefined} */
  let lastError;
  let closed = false;
  /** @type {Promise<void> | undefined} set while the stream is being checked, so a burst of failures checks once */
  let checking;
  /** @type {Set<() => void>} writes waiting for acks, told when the connection drops */
  const disconnectListeners = new Set();

  // The client's own first-connect retry cannot be stopped by close(); this loop can.
  const opened = (async () => {
    while (!closed) {
      try {
        connection = await connect({ servers, name: 'homing-collector', maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_WAIT_MS });
      } catch (error) {
        lastError = String(error);
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_WAIT_MS));
        continue;
      }
      if (closed) return connection.close();
      client = jetstream(connection);
      void watch(connection);
      return checkStream();
    }
  })();

  async function watch(nc) {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        state = 'down';
        lastError = 'disconnected';
        for (const listener of [...disconnectListeners]) listener();
      } else if (status.type === 'reconnect') {
        await checkStream();
      }
    }
  }

  function checkStream() {
    checking ??= ensureStream().finally(() => (checking = undefined));
    return checking;
  }

  async function ensureStream() {
    if (!connection) return;
    try {
      const manager = await jetstreamManager(connection, { timeout: STREAM_CHECK_TIMEOUT_MS });
      const config = { name: stream, subjects: [`${subjectPrefix}.>`], duplicate_window: duplicateWindowMs * NANOSECONDS_PER_MS };
      const info = await manager.streams.info(stream).catch(() => undefined);
      if (!info) await manager.streams.add(config);
      else if (info.config.duplicate_window !== config.duplicate_window) await manager.streams.update(stream, { ...info.config, ...config });
      state = 'up';
      lastError = undefined;
    } catch (error) {
      state = 'down';
      lastError = `stream ${stream}: ${String(error)}`;
    }
  }

  return {
    client: () => (state === 'up' && connection && !connection.isClosed() ? client : undefined),
    state: () => state,
    lastError: () => lastError,
    /**
     * Calls `listener` at the next disconnect; returns the function that stops listening. One
     * listener per write, removed after it, so nothing accumulates while the connection holds.
     */
    onDisconnect(listener) {
      disconnectListeners.add(listener);
      return () => disconnectListeners.delete(listener);
    },
    /** A failed publish may mean the stream is gone (a server started on an empty store): check it again. */
    suspectStream() {
      if (connection && !connection.isClosed() && state === 'up') void checkStream();
    },
    async close() {
      closed = true;
      await opened;
      if (!connection || connection.isClosed()) return;
      const nc = connection;
      const gaveUp = new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS).unref());
      await Promise.race([nc.drain().catch(() => undefined), gaveUp]);
      if (!nc.isClosed()) await nc.close();
    },
  };
}

