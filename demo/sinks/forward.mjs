/**
 * A sink that relays events to any Segment-compatible HTTP endpoint (Segment, RudderStack, Jitsu,
 * another homing collector): the events of the requests that arrive within a few milliseconds go
 * out together in `{ batch, sentAt }` posts, each within the batch limits, and a post that fails
 * is retried a few times with backoff before the sink gives up.
 *
 * `write` resolves once every post that carries its events was answered 2xx. When the target
 * refuses or cannot be reached, the writes waiting on it reject, and the sink stays `down` for
 * the target's `Retry-After` (or a default) so the collector answers 503 at once meanwhile; the
 * next write after that is the probe. More than `maxPendingEvents` in flight: `lagging`.
 */
import { SinkUnavailableError } from './sink.mjs';

/** Segment takes up to 500 KB per batch request; a little under it leaves room for the envelope. */
export const DEFAULT_MAX_POST_BYTES = 450 * 1024;
/** Events per post; Segment's own libraries send batches of at most a few hundred. */
export const DEFAULT_MAX_POST_EVENTS = 500;
/** How long the first write waits for others to share its post: short next to a request's own time. */
export const DEFAULT_LINGER_MS = 5;
/** Events accepted and not yet relayed past which writes are refused: 200 full homing batches. */
export const DEFAULT_MAX_PENDING_EVENTS = 10_000;
/** Tries of one post before the writes waiting on it fail; the senders retry after that. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** First retry of a post after about this long, doubling, with full jitter. */
const RETRY_BASE_MS = 100;
/** A post's retries never wait longer than this: the sender is waiting for its answer. */
const RETRY_CAP_MS = 1_000;
/** A post without an answer by then failed. */
export const DEFAULT_POST_TIMEOUT_MS = 5_000;
/** How long the sink stays down after giving up on a post, when the target did not say. */
export const DEFAULT_DOWN_MS = 2_000;
/** A target asking for longer than this is not believed: the sink probes again after it anyway. */
const MAX_DOWN_MS = 60_000;
/**
 * Statuses worth trying again, as homing's own policy has them. Any other refusal fails the writes
 * too: the collector validated the events, so a target that refuses them disagrees with it (a wrong
 * writeKey, a stricter schema), which `/health` then shows.
 */
const RETRYABLE_STATUSES = new Set([408, 429]);

/**
 * @typedef {{ events: object[], posts: number, failed: boolean, resolve: () => void, reject: (error: Error) => void }} Waiting
 *   one write: its events, how many posts still carry some of them
 */

/**
 * Creates a forward sink.
 * @param {object} options
 * @param {string} options.endpoint the target's batch URL, e.g. `https://api.segment.io/v1/batch`;
 *   a user name in it (`https://KEY@host/v1/batch`) is sent as the writeKey with Basic auth, as Segment's libraries do
 * @param {typeof fetch} [options.fetch] default the global fetch
 * @param {number} [options.maxPostBytes] default {@link DEFAULT_MAX_POST_BYTES}
 * @param {number} [options.maxPostEvents] default {@link DEFAULT_MAX_POST_EVENTS}
 * @param {number} [options.lingerMs] default {@link DEFAULT_LINGER_MS}
 * @param {number} [options.maxPendingEvents] default {@link DEFAULT_MAX_PENDING_EVENTS}
 * @param {number} [options.maxAttempts] default {@link DEFAULT_MAX_ATTEMPTS}
 * @param {number} [options.timeoutMs] default {@link DEFAULT_POST_TIMEOUT_MS}
 * @param {number} [options.downMs] default {@link DEFAULT_DOWN_MS}
 * @param {() => number} [options.now] default `Date.now`
 * @param {() => number} [options.random] default `Math.random`, for the jitter
 * @returns {import('./sink.mjs').Sink}
 */
export function createForwardSink({
  endpoint,
  fetch = globalThis.fetch,
  maxPostBytes = DEFAULT_MAX_POST_BYTES,
  maxPostEvents = DEFAULT_MAX_POST_EVENTS,
  lingerMs = DEFAULT_LINGER_MS,
  maxPendingEvents = DEFAULT_MAX_PENDING_EVENTS,
  maxAttempts = DEFAULT_MAX_ATTEMPTS,
  timeoutMs = DEFAULT_POST_TIMEOUT_MS,
  downMs = DEFAULT_DOWN_MS,
  now = Date.now,
  random = Math.random,
}) {
  const name = 'forward';
  const { url, headers, target } = targetOf(endpoint);
  /** @type {Waiting[]} writes not yet in a post */
  let waiting = [];
  let pendingEvents = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let lingerTimer;
  /** While `now() < downUntil` the target is taken as down; writes are refused without a post. */
  let downUntil = 0;
  /** @type {string | undefined} */
  let lastError;

  function flush() {
    clearTimeout(lingerTimer);
    lingerTimer = undefined;
    const writes = waiting;
    waiting = [];
    for (const post of packPosts(writes, maxPostEvents, maxPostBytes)) void send(post);
  }

  /** @param {{ events: object[], writes: Waiting[] }} post */
  async function send(post) {
    const outcome = await postWithRetry(post.events);
    if (outcome.ok) {
      downUntil = 0;
      lastError = undefined;
    } else {
      downUntil = now() + Math.min(MAX_DOWN_MS, outcome.retryAfterMs ?? downMs);
      lastError = outcome.reason;
    }
    for (const write of post.writes) settle(write, outcome);
  }

  /** @param {Waiting} write */
  function settle(write, outcome) {
    write.posts -= 1;
    if (write.failed) return;
    if (!outcome.ok) {
      write.failed = true;
      pendingEvents -= write.events.length;
      write.reject(new SinkUnavailableError(name, 'failed', { cause: outcome.reason, retryAfterMs: downUntil - now() }));
    } else if (write.posts === 0) {
      pendingEvents -= write.events.length;
      write.resolve();
    }
  }

  /**
   * Posts until a 2xx, a refusal that will not change, or `maxAttempts`.
   * @returns {Promise<{ ok: boolean, reason?: string, retryAfterMs?: number }>}
   */
  async function postWithRetry(events) {
    for (let attempt = 1; ; attempt++) {
      const answer = await postOnce(events);
      if (answer.ok || !answer.retryable || attempt >= maxAttempts) return answer;
      const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
      const waitMs = Math.min(answer.retryAfterMs ?? Infinity, Math.floor(random() * ceiling));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  async function postOnce(events) {
    const body = JSON.stringify({ batch: events, sentAt: new Date(now()).toISOString() });
    try {
      const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true };
      const status = response.status;
      return {
        ok: false,
        retryable: status >= 500 || RETRYABLE_STATUSES.has(status),
        reason: `answered ${status}`,
        retryAfterMs: retryAfterMs(response.headers.get('Retry-After')),
      };
    } catch (error) {
      return { ok: false, retryable: true, reason: String(/** @type {any} */ (error)?.cause?.code ?? error) };
    }
  }

  return {
    name,
    write(events) {
      if (now() < downUntil) {
        return Promise.reject(new SinkUnavailableError(name, 'down', { retryAfterMs: downUntil - now() }));
      }
      if (pendingEvents + events.length > maxPendingEvents) return Promise.reject(new SinkUnavailableError(name, 'lagging'));
      if (events.length === 0) return Promise.resolve();
      pendingEvents += events.length;
      return new Promise((resolve, reject) => {
        waiting.push({ events, posts: 0, failed: false, resolve, reject });
        const waitingEvents = waiting.reduce((sum, write) => sum + write.events.length, 0);
        if (waitingEvents >= maxPostEvents) flush();
        else lingerTimer ??= setTimeout(flush, lingerMs);
      });
    },
    health() {
      const down = now() < downUntil;
      const state = down ? 'down' : pendingEvents >= maxPendingEvents ? 'lagging' : 'up';
      return {
        name,
        state,
        target,
        pendingEvents,
        ...(lastError ? { reason: lastError } : {}),
        ...(down ? { retryAfterMs: downUntil - now() } : {}),
      };
    },
    async close() {
      if (waiting.length) flush();
      const deadline = now() + timeoutMs * maxAttempts;
      while (pendingEvents > 0 && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}

/**
 * Cuts the waiting writes into posts of at most `maxEvents` events and about `maxBytes`; a write
 * may span several posts, and each post remembers the writes it carries.
 * @param {Waiting[]} writes
 * @returns {{ events: object[], writes: Waiting[] }[]}
 */
export function packPosts(writes, maxEvents, maxBytes) {
  /** @type {{ events: object[], writes: Waiting[], bytes: number }[]} */
  const posts = [];
  let current = { events: /** @type {object[]} */ ([]), writes: /** @type {Waiting[]} */ ([]), bytes: 0 };
  for (const write of writes) {
    for (const event of write.events) {
      // Each event is measured once here and serialized again in the post: the cost of a plain body.
      const bytes = Buffer.byteLength(JSON.stringify(event)) + 1;
      if (current.events.length > 0 && (current.events.length >= maxEvents || current.bytes + bytes > maxBytes)) {
        posts.push(current);
        current = { events: [], writes: [], bytes: 0 };
      }
      current.events.push(event);
      current.bytes += bytes;
      if (current.writes.at(-1) !== write) {
        current.writes.push(write);
        write.posts += 1;
      }
    }
  }
  if (current.events.length > 0) posts.push(current);
  return posts;
}

/** The URL to post to, its headers, and how `/health` names it (without the writeKey). */
function targetOf(endpoint) {
  const url = new URL(endpoint);
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  if (url.username) {
    const writeKey = decodeURIComponent(url.username);
    headers.Authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url: url.href, headers, target: url.href };
}

/** `Retry-After` in seconds or as an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
function retryAfterMs(header) {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
