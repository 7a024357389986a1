/**
 * The reference collector: a Segment-compatible `POST /v1/batch` endpoint that validates every
 * batch (homing's and the Segment spec's, `segment-spec.mjs`), hands each new event to its sinks
 * (an NDJSON file by default, NATS JetStream, a relay to another endpoint: `sinks/`), and can be
 * told to misbehave (503, 429, slow, refuse) so the tracker's retry path can be watched and tested.
 *
 * It answers 2xx only after every sink acknowledged the batch; a sink that is down or lagging
 * makes it answer 503 with `Retry-After`, and the sender keeps the events. Its only state is a
 * bounded memory: the `messageId`s each sink acknowledged (dedupe within this process) and the
 * latest events for the demo's inspector. Dedupe across processes is the log's (JetStream).
 *
 * Usable alone with `node:http`:
 *
 *   const collector = createCollector({ file: 'events.ndjson' });
 *   http.createServer((req, res) => collector.handle(req, res) || notFound(res)).listen(8080);
 */
import { MAX_BATCH_REQUEST_BYTES, MAX_EVENT_BYTES } from '../dist/schema.mjs';
import { MAX_JSON_DEPTH, parseJson, readBody } from './request-body.mjs';
import { createRing } from './ring.mjs';
import { collectorBatchSchema } from './segment-spec.mjs';
import { createDedupedSink } from './sinks/deduped.mjs';
import { createFileSink } from './sinks/file.mjs';

/** @typedef {'ok' | '503' | '429' | 'slow' | 'refuse'} CollectorMode */

/** Every mode `setMode` accepts; `ok` is the default. */
export const COLLECTOR_MODES = /** @type {const} */ (['ok', '503', '429', 'slow', 'refuse']);

/** Seconds sent in `Retry-After` in `429` mode unless `retryAfter` says otherwise. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;
/**
 * Seconds sent in `Retry-After` with a 503 when a sink cannot take the batch and does not know
 * when it will: long enough for a restarted log to come back, short enough not to stall a page.
 */
export const DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS = 2;
/** How long `slow` mode holds a request before accepting it, unless `delayMs` says otherwise. */
export const DEFAULT_SLOW_DELAY_MS = 3000;
/** Proxies close idle connections; a comment line keeps the event stream open. */
const FEED_PING_MS = 15_000;
/** Control requests (`/collector/mode`) are tiny JSON objects. */
const MAX_CONTROL_BODY_BYTES = 4096;
/** A 400 lists at most this many invalid paths; one broken field should not produce a huge answer. */
const MAX_REPORTED_ISSUES = 20;
/** Lets a preflighted sender skip the OPTIONS round trip for a day. */
const PREFLIGHT_MAX_AGE_SECONDS = 86_400;
/**
 * Events kept as full objects for `received()`; older ones are dropped from memory but stay
 * counted, deduped and in the NDJSON file. About 1 KiB of heap each, so about 100 MiB at most.
 */
export const DEFAULT_MAX_EVENTS_IN_MEMORY = 100_000;
/**
 * `messageId`s remembered for dedupe, oldest forgotten first: about 100 bytes each, so about
 * 100 MiB at most. The trade-off: an event resent after this many newer unique events is
 * counted as new again. homing retries within minutes, far inside this window.
 */
export const DEFAULT_MAX_REMEMBERED_IDS = 1_000_000;
/** A live-feed reader this far behind is not reading; it is closed and reconnects to a fresh snapshot. */
const MAX_FEED_BACKLOG_BYTES = 1024 * 1024;
/** Any host path is fine for reading `req.url`: only the pathname is used. */
const URL_BASE = 'http://collector.invalid';

/**
 * @typedef {object} CollectorState
 * @property {CollectorMode} mode the current fault mode
 * @property {number} retryAfter seconds sent in `Retry-After` in `429` mode
 * @property {number} delayMs how long `slow` mode holds a request
 * @property {number} unique distinct `messageId`s accepted
 * @property {number} eventsInMemory accepted events still held as full objects (at most `maxEventsInMemory`)
 * @property {number} duplicates events received again with a `messageId` already accepted
 * @property {number} requests every `POST /v1/batch`, whatever its outcome
 * @property {number} rejected requests not answered 2xx (invalid, too large, fault modes, refused)
 * @property {Record<string, number>} outcomes requests by outcome: status code, or `refused`
 * @property {import('./sinks/sink.mjs').SinkHealth[]} sinks each sink's health
 */

/**
 * @typedef {object} Received
 * @property {number} unique
 * @property {number} duplicates
 * @property {number} requests
 * @property {number} rejected
 * @property {CollectorMode} mode
 * @property {object[]} events the accepted events, full objects, in arrival order: every one, or
 *   the latest `maxEventsInMemory` once more than that have arrived
 */

/**
 * @typedef {object} Collector
 * @property {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean} handle
 *   answers the request and returns true when its path belongs to the collector (`/v1/batch`,
 *   `/collector/*`); returns false and leaves the request alone otherwise
 * @property {CollectorState} state a fresh snapshot of the counters and the mode on every read
 * @property {(mode: CollectorMode, options?: { retryAfter?: number, delayMs?: number }) => void} setMode
 *   switches the fault mode (throws a TypeError for an unknown mode) and tells the feed
 * @property {() => void} reset forgets every event and counter and goes back to `ok`; the NDJSON
 *   file is an append-only log and is left as it is
 * @property {() => Received} received a copy of everything accepted so far
 * @property {() => Promise<void>} close ends the live feeds and closes the sinks
 */

/**
 * Creates a collector.
 * @param {object} [options]
 * @param {string} [options.file] NDJSON file that each new unique event is appended to (a file sink
 *   ahead of `sinks`); none by default
 * @param {import('./sinks/sink.mjs').Sink[]} [options.sinks] where accepted events go; with none
 *   and no `file`, events are only counted and kept in memory
 * @param {number} [options.unavailableRetryAfterSeconds] `Retry-After` of a 503 for a sink that
 *   cannot take a batch; default {@link DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS}
 * @param {number} [options.maxBodyBytes] largest request body, before and after gzip, answered with
 *   413 beyond it; default 500 KiB, the batch limit Segment documents
 * @param {number} [options.maxEventsInMemory] accepted events kept as full objects for `received()`,
 *   the oldest dropped first; default {@link DEFAULT_MAX_EVENTS_IN_MEMORY}
 * @param {number} [options.maxRememberedIds] `messageId`s remembered for dedupe, per sink, the oldest
 *   forgotten first; default {@link DEFAULT_MAX_REMEMBERED_IDS}
 * @returns {Collector}
 */
export function createCollector({
  file,
  sinks = [],
  unavailableRetryAfterSeconds = DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS,
  maxBodyBytes = MAX_BATCH_REQUEST_BYTES,
  maxEventsInMemory = DEFAULT_MAX_EVENTS_IN_MEMORY,
  maxRememberedIds = DEFAULT_MAX_REMEMBERED_IDS,
} = {}) {
  for (const [name, value] of Object.entries({ maxBodyBytes, maxEventsInMemory, maxRememberedIds, unavailableRetryAfterSeconds })) {
    if (!(value >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  }
  const allSinks = [...(file ? [createFileSink({ file })] : []), ...sinks];
  // With no sink at all, a sink that stores nothing keeps the counting and the dedupe the same.
  const deduped = (allSinks.length > 0 ? allSinks : [MEMORY_ONLY]).map((sink) => createDedupedSink(sink, maxRememberedIds));
  /** @type {Set<import('node:http').ServerResponse>} */
  const feeds = new Set();
  let mode = /** @type {CollectorMode} */ ('ok');
  let retryAfter = DEFAULT_RETRY_AFTER_SECONDS;
  let delayMs = DEFAULT_SLOW_DELAY_MS;
  /** @type {import('./ring.mjs').Ring<object>} */
  let events = createRing(maxEventsInMemory);
  let counts = { unique: 0, duplicates: 0, requests: 0, rejected: 0 };
  /** @type {Record<string, number>} */
  let outcomes = {};

  const totals = () => ({ ...counts });

  function countOutcome(outcome) {
    counts.requests += 1;
    if (outcome !== 200) counts.rejected += 1;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (outcome !== 200) broadcast({ status: outcome, totals: totals() }, 'rejected');
  }

  function broadcast(data, eventName) {
    const frame = `${eventName ? `event: ${eventName}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
    for (const res of feeds) {
      if (res.writableLength > MAX_FEED_BACKLOG_BYTES) {
        feeds.delete(res);
        res.destroy();
      } else {
        res.write(frame);
      }
    }
  }

  function setMode(next, options = {}) {
    if (!COLLECTOR_MODES.includes(next)) throw new TypeError(`unknown collector mode: ${next}`);
    mode = next;
    retryAfter = options.retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS;
    delayMs = options.delayMs ?? DEFAULT_SLOW_DELAY_MS;
    broadcast({ mode });
  }

  function reset() {
    for (const sink of deduped) sink.forget();
    events = createRing(maxEventsInMemory);
    counts = { unique: 0, duplicates: 0, requests: 0, rejected: 0 };
    outcomes = {};
    mode = 'ok';
    retryAfter = DEFAULT_RETRY_AFTER_SECONDS;
    delayMs = DEFAULT_SLOW_DELAY_MS;
    broadcast(snapshot(), 'snapshot');
  }

  function snapshot() {
    return { mode, ...totals(), events: events.latest(50).map(summarize) };
  }

  /**
   * Hands a valid batch to every sink, each getting only what it has not acknowledged yet, and
   * resolves with the events that are new: written by some sink in this request. Rejects with the
   * first sink's failure; then nothing is counted, and the retry writes where it is still missing.
   */
  async function deliver(batch) {
    const results = await Promise.allSettled(deduped.map((sink) => sink.write(batch)));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const written = new Set(results.flatMap((result) => (result.status === 'fulfilled' ? result.value : [])));
    const fresh = batch.filter((event) => written.delete(event));
    for (const event of fresh) events.push(event);
    counts.unique += fresh.length;
    counts.duplicates += batch.length - fresh.length;
    return { accepted: fresh.length, duplicates: batch.length - fresh.length, fresh };
  }

  /** The first sink that cannot take a write now, so the answer is 503 before the body is read. */
  function unavailableSink() {
    for (const { sink } of deduped) {
      const health = sink.health();
      if (health.state !== 'up') return health;
    }
    return undefined;
  }

  /** 503 with `Retry-After`: the sink's own estimate when it has one, the collector's default otherwise. */
  function rejectUnavailable(res, { sink, reason, retryAfterMs }) {
    const seconds = retryAfterMs === undefined ? unavailableRetryAfterSeconds : Math.max(1, Math.ceil(retryAfterMs / 1000));
    res.setHeader('Retry-After', String(seconds));
    reject(res, 503, { error: 'sink_unavailable', sink, reason, retryAfter: seconds });
  }

  async function receiveBatch(req, res) {
    const arrivalMode = mode;
    if (arrivalMode === 'refuse') {
      countOutcome('refused');
      req.socket.destroy();
      return;
    }
    if (arrivalMode === '503') return reject(res, 503, { error: 'unavailable' });
    if (arrivalMode === '429') {
      res.setHeader('Retry-After', String(retryAfter));
      return reject(res, 429, { error: 'rate_limited', retryAfter });
    }
    if (arrivalMode === 'slow') await new Promise((resolve) => setTimeout(resolve, delayMs));
    const blocked = unavailableSink();
    if (blocked) return rejectUnavailable(res, { sink: blocked.name, reason: blocked.state, retryAfterMs: blocked.retryAfterMs });
    if (!isAcceptedContentType(req.headers['content-type'])) {
      return reject(res, 415, { error: 'unsupported_media_type' });
    }

    const body = await readBody(req, maxBodyBytes);
    if (body.kind === 'aborted') return;
    if (body.kind === 'tooLarge') return reject(res, 413, { error: 'payload_too_large', maxBodyBytes });
    if (body.kind === 'unsupportedEncoding') return reject(res, 415, { error: 'unsupported_encoding' });
    if (body.kind === 'invalidGzip') return reject(res, 400, { error: 'invalid_gzip' });

    const json = parseJson(body.text);
    if (json.kind === 'invalid') return reject(res, 400, { error: 'invalid_json' });
    if (json.kind === 'tooDeep') return reject(res, 400, { error: 'too_deep', maxDepth: MAX_JSON_DEPTH });
    const parsed = collectorBatchSchema.safeParse(json.value);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, MAX_REPORTED_ISSUES)
        .map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      return reject(res, 400, { error: 'invalid_batch', issues });
    }
    // 413 for one oversized event lets the tracker split the batch down to it and drop only it.
    const oversized = parsed.data.batch.findIndex(
      (event) => Buffer.byteLength(JSON.stringify(event)) > MAX_EVENT_BYTES,
    );
    if (oversized !== -1) {
      return reject(res, 413, { error: 'event_too_large', path: `batch.${oversized}`, maxEventBytes: MAX_EVENT_BYTES });
    }

    // Store what was sent, key order and all; the schema only vouched for it.
    let delivered;
    try {
      delivered = await deliver(/** @type {any} */ (json.value).batch);
    } catch (error) {
      const { sink = 'unknown', reason = 'failed', retryAfterMs } = /** @type {any} */ (error) ?? {};
      return rejectUnavailable(res, { sink, reason, retryAfterMs });
    }
    const { accepted, duplicates, fresh } = delivered;
    countOutcome(200);
    sendJson(res, 200, { ok: true, accepted, duplicates });
    broadcast({ accepted, duplicates, events: fresh.map(summarize), totals: totals() });
  }

  function reject(res, status, body) {
    countOutcome(status);
    // The rest of an unread body is not worth reading; closing the connection stops it.
    if (!res.req.complete) res.setHeader('Connection', 'close');
    sendJson(res, status, body);
  }

  async function changeMode(req, res) {
    const body = await readBody(req, MAX_CONTROL_BODY_BYTES);
    if (body.kind === 'aborted') return;
    const json = body.kind === 'ok' ? parseJson(body.text) : undefined;
    const request = json?.kind === 'ok' && typeof json.value === 'object' ? json.value : undefined;
    const { mode: next, retryAfter: seconds, delayMs: delay } = request ?? {};
    const isDuration = (value) => value === undefined || (Number.isFinite(value) && value >= 0);
    if (!COLLECTOR_MODES.includes(next) || !isDuration(seconds) || !isDuration(delay)) {
      return sendJson(res, 400, { error: 'invalid_mode', modes: COLLECTOR_MODES });
    }
    setMode(next, { retryAfter: seconds, delayMs: delay });
    sendJson(res, 200, { ok: true, mode, retryAfter, delayMs });
  }

  function openFeed(req, res) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(snapshot())}\n\n`);
    feeds.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), FEED_PING_MS);
    res.on('close', () => {
      clearInterval(ping);
      feeds.delete(res);
    });
  }

  function handle(req, res) {
    const pathname = pathnameOf(req.url);
    if (pathname === undefined) return false;
    if (pathname !== '/v1/batch' && pathname !== '/health' && !pathname.startsWith('/collector/')) return false;

    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
    res.setHeader('Vary', 'Origin');
    const route = `${req.method} ${pathname}`;
    const needsLoopback = route === 'POST /collector/mode' || route === 'POST /collector/reset';
    if (needsLoopback && !isLoopbackControlRequest(req)) {
      sendJson(res, 403, { error: 'loopback_only' });
      return true;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Content-Encoding',
        'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
      });
      res.end();
      return true;
    }

    const answer = {
      'POST /v1/batch': () => receiveBatch(req, res),
      'POST /collector/mode': () => changeMode(req, res),
      'POST /collector/reset': () => (reset(), sendJson(res, 200, { ok: true })),
      'GET /collector/received': () => sendJson(res, 200, received()),
      'GET /health': () => answerHealth(res),
      'GET /collector/feed': () => openFeed(req, res),
    }[route];
    if (!answer) {
      const allowed = pathname === '/health' ? 'GET' : pathname.startsWith('/collector/') ? 'GET, POST' : 'POST, OPTIONS';
      res.setHeader('Allow', allowed);
      sendJson(res, 405, { error: 'method_not_allowed' });
      return true;
    }
    Promise.resolve(answer()).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: String(error) });
      else res.destroy();
    });
    return true;
  }

  /** 200 when every sink takes writes, 503 otherwise, so a load balancer can route around the collector. */
  function answerHealth(res) {
    const health = sinkHealth();
    const ok = health.every((sink) => sink.state === 'up');
    sendJson(res, ok ? 200 : 503, { ok, sinks: health });
  }

  function sinkHealth() {
    return allSinks.map((sink) => sink.health());
  }

  function received() {
    return { mode, ...totals(), events: events.latest() };
  }

  async function close() {
    for (const res of feeds) res.end();
    feeds.clear();
    await Promise.all(allSinks.map((sink) => sink.close()));
  }

  return {
    handle,
    get state() {
      return {
        mode,
        retryAfter,
        delayMs,
        ...totals(),
        eventsInMemory: events.size,
        outcomes: { ...outcomes },
        sinks: sinkHealth(),
      };
    },
    setMode,
    reset,
    received,
    close,
  };
}

/** @type {import('./sinks/sink.mjs').Sink} stands in for the sinks when there are none: stores nothing, is always up */
const MEMORY_ONLY = {
  name: 'memory',
  write: () => Promise.resolve(),
  health: () => ({ name: 'memory', state: 'up' }),
  close: () => Promise.resolve(),
};

/**
 * What the live feed shows of an event; the full object stays in `received()`. `source` is the
 * extra that tracked it (homing/pageviews, links, declarative, vitals name themselves there), and
 * `path` names an automatic page view, which has no name.
 */
function summarize({ type, event, name, messageId, timestamp, properties }) {
  const source = typeof properties?.source === 'string' ? properties.source : undefined;
  const path = type === 'page' && typeof properties?.path === 'string' ? properties.path : undefined;
  return { type, event, name, messageId, timestamp, source, path };
}

/** fetch sends `application/json`; sendBeacon sends `text/plain;charset=UTF-8` to avoid a preflight. */
function isAcceptedContentType(header = '') {
  const type = header.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type === 'text/plain';
}

/** Loopback in every spelling Node reports: `127.x.y.z`, `::1`, `::ffff:127.x.y.z`. */
export function isLoopback(address = '') {
  return /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address) || address === '::1';
}

/**
 * A control request must come from loopback, and not from a page on another site that the
 * user's browser runs: a browser on this machine reaches 127.0.0.1 too. So the `Host` must name
 * loopback (a DNS-rebound name does not), and an `Origin`, which browsers send on every POST,
 * must be that same host.
 */
function isLoopbackControlRequest(req) {
  if (!isLoopback(req.socket.remoteAddress)) return false;
  const host = urlOf(`http://${req.headers.host ?? ''}`);
  if (!host || !(host.hostname === 'localhost' || isLoopback(host.hostname.replace(/^\[|\]$/g, '')))) return false;
  const origin = req.headers.origin;
  return origin === undefined || urlOf(origin)?.host === host.host;
}

/** The `URL` a header value names, or undefined when it names none. */
function urlOf(text) {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The path of a request target, or undefined for one no URL parser accepts (`//`, `//[`). */
function pathnameOf(target = '/') {
  try {
    return new URL(target, URL_BASE).pathname;
  } catch {
    return undefined;
  }
}

export function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
