/**
 * Builds the collector's sinks from one comma-separated list, as `COLLECTOR_SINKS` holds it:
 *
 *   file                                   NDJSON file (the default; its path from `file`)
 *   nats://127.0.0.1:4222                  NATS JetStream; options as query parameters:
 *       ?stream=homing&subject=homing.events&duplicateWindow=24h&ackTimeout=5s&maxPending=10000
 *   http://127.0.0.1:9000/v1/batch         relay to a Segment-compatible endpoint
 *   https://WRITE_KEY@api.segment.io/v1/batch   the same, with a writeKey sent as Basic auth
 *
 * The JetStream client is loaded only when a `nats://` sink is asked for: `npm start` with the
 * file sink needs nothing else.
 */
import { createFileSink } from './file.mjs';
import { createForwardSink } from './forward.mjs';

/** What `COLLECTOR_SINKS` means when unset. */
export const DEFAULT_SINKS = 'file';

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * @param {string} list e.g. `file,nats://127.0.0.1:4222`
 * @param {{ file?: string }} [defaults] the path the `file` sink writes to
 * @returns {Promise<import('./sink.mjs').Sink[]>}
 */
export async function createSinks(list, { file } = {}) {
  const entries = list.split(',').map((entry) => entry.trim()).filter(Boolean);
  const seen = new Set();
  /** @type {import('./sink.mjs').Sink[]} */
  const sinks = [];
  try {
    for (const entry of entries) {
      const sink = await createSink(entry, file);
      sinks.push(sink);
      if (seen.has(sink.name)) throw new TypeError(`COLLECTOR_SINKS names two ${sink.name} sinks; one of each kind at most`);
      seen.add(sink.name);
    }
  } catch (error) {
    await Promise.all(sinks.map((sink) => sink.close()));
    throw error;
  }
  return sinks;
}

async function createSink(entry, file) {
  if (entry === 'file') {
    if (!file) throw new TypeError('the file sink needs a file path');
    return createFileSink({ file });
  }
  const url = parseUrl(entry);
  if (url?.protocol === 'nats:') {
    const { createJetStreamSink } = await import('./jetstream.mjs');
    const option = (key) => url.searchParams.get(key) ?? undefined;
    return createJetStreamSink({
      servers: url.host,
      stream: option('stream'),
      subjectPrefix: option('subject'),
      duplicateWindowMs: parseDuration(option('duplicateWindow'), 'duplicateWindow'),
      ackTimeoutMs: parseDuration(option('ackTimeout'), 'ackTimeout'),
      maxPendingEvents: option('maxPending') === undefined ? undefined : Number(option('maxPending')),
    });
  }
  if (url?.protocol === 'http:' || url?.protocol === 'https:') return createForwardSink({ endpoint: url.href });
  throw new TypeError(`unknown sink "${entry}": use file, nats://host:port or an http(s):// batch URL`);
}

function parseUrl(text) {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * `24h`, `90s`, `500ms`, `5m`, or a plain number of seconds; undefined stays undefined (the default).
 * @param {string | undefined} text
 * @param {string} option
 */
export function parseDuration(text, option) {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new TypeError(`${option} must be a duration like 24h, 90s or 500ms, got "${text}"`);
  return Number(match[1]) * DURATION_UNITS_MS[/** @type {keyof typeof DURATION_UNITS_MS} */ (match[2] ?? 's')];
}
