/**
 * The public tracker: the one place that wires event building, the queue, the store, delivery
 * and the page lifecycle together. No public method throws into the host page.
 */
import { utf8Length } from './bytes';
import { systemClock } from './clock';
import { createDelivery, type DropReason } from './delivery';
import { createEmitter } from './emitter';
import { homingError, type ErrorCode, type HomingError } from './errors';
import { createEventBuilder, MAX_EVENT_BYTES, type EventInput, type HomingEvent } from './event';
import { cryptoRandomBytes } from './id';
import { createIdentityStore } from './identity';
import { resolveOptions, type ResolvedOptions, type TrackerOptions } from './options';
import { isOnline, onPageLifecycle } from './page-lifecycle';
import { createQueue } from './queue';
import { createConsent } from './consent';
import { runPlugins, type Plugin } from './plugins';
import { isSampledIn } from './sampling';
import { createSenderLock, type SenderLock } from './sender-lock';
import { errorMessage } from './sanitize';
import { createAutoStore, type EventStore, type StoreKind, type StoredEvent } from './store/event-store';
import { createPageExitLog } from './store/page-exit-log';
import { createIndexedDbStore } from './store/indexeddb';
import { createLocalStorageStore } from './store/local-storage';
import { createMemoryStore } from './store/memory';
import { createBeaconTransport } from './transport/beacon';
import { createFetchTransport } from './transport/fetch';
import { createDeferredRequest } from './transport/fetch-later';
import { createKeepaliveBudget, type KeepaliveBudget } from './transport/keepalive-budget';
import type { Transport } from './transport/transport';

export type Health = 'healthy' | 'degraded' | 'failing';

export interface TrackerStats {
  /** Events waiting or in flight. */
  queued: number;
  /** Requests under way. */
  inFlight: number;
  /** Events accepted by track/page/identify. */
  received: number;
  /** Events put in requests, counting each attempt. */
  sent: number;
  delivered: number;
  /** Events put back in the queue after a retryable failure (once per failure). */
  retried: number;
  /** Events given up, all reasons. */
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** Requests made. */
  requests: number;
  /** Request body bytes sent, before compression. */
  bytesSent: number;
  /** Events left out by sampling (`sampleRate`). */
  sampledOut: number;
  /** Events dropped on purpose by a plugin or `beforeSend`. */
  filtered: number;
  store: StoreKind;
  /** degraded: retrying, or the store fell back; failing: several failures in a row, or only memory is left. */
  health: Health;
}

export interface TrackerEvents {
  /** Every event as it is tracked, after the plugins, whether sampled in or not: a live tap. */
  track: HomingEvent;
  queued: HomingEvent;
  delivered: { events: HomingEvent[] };
  dropped: { reason: DropReason; events: HomingEvent[]; message: string };
  retry: { events: HomingEvent[]; attempt: number; delayMs: number; reason: string };
  error: HomingError;
}

/** Event names mapped to their properties' types, for `createTracker<Events>()`. */
export type EventMap = Record<string, Record<string, unknown>>;

/** The properties argument: optional where every property is. */
type PropertiesArgument<Properties> = {} extends Properties ? [properties?: Properties] : [properties: Properties];

export interface Tracker<Events extends { [Name in keyof Events]: object } = EventMap> {
  track<Name extends keyof Events & string>(event: Name, ...properties: PropertiesArgument<Events[Name]>): void;
  page(name?: string, properties?: Record<string, unknown>): void;
  identify(userId: string, traits?: Record<string, unknown>): void;
  /** Logout: forgets the user id, starts a new anonymous id and session. */
  reset(): void;
  /** Stops tracking for this user, remembered across page loads: nothing is stored or sent, and what was queued is deleted. */
  optOut(): void;
  /** Tracks again after optOut() (or despite Global Privacy Control with `honorGlobalPrivacyControl`). */
  optIn(): void;
  /** Sends what is queued now; resolves when the queue is empty or sending must wait (offline, backoff). */
  flush(): Promise<TrackerStats>;
  /** Stops timers and listeners after a last flush and once everything queued is persisted. */
  shutdown(): Promise<void>;
  stats(): TrackerStats;
  on<Name extends keyof TrackerEvents & string>(name: Name, listener: (payload: TrackerEvents[Name]) => void): () => void;
}

/** The error code reported with each reason for dropping events. */
const DROP_CODES: Record<DropReason, ErrorCode> = {
  overflow: 'queue_overflow',
  rejected: 'rejected',
  attempts: 'gave_up',
  invalid: 'invalid_event',
  tooLarge: 'event_too_large',
};
/** The user's ids, session and consent are the site's, shared by every tracker whatever its storageKey. */
const USER_STORAGE_KEY = 'homing';
/** A batch in flight stays leased to its tab this long past the request timeout. */
const LEASE_MARGIN_MS = 5_000;
/** Consecutive failures after which the tracker calls itself failing rather than degraded. */
const FAILING_AFTER = 3;
/** Room for the envelope when a single event must fit in one request. */
const ENVELOPE_RESERVE_BYTES = 512;

/**
 * Never throws. With unusable options it still returns a tracker: a disabled one, which reports
 * every call as an `invalid_option` error, keeps nothing (memory store) and sends nothing.
 */
export function createTracker<Events extends { [Name in keyof Events]: object } = EventMap>(input: TrackerOptions): Tracker<Events> {
  const emitter = createEmitter<TrackerEvents>();
  const { options, problems } = resolveOptions(input);
  const disabled = !options.endpoint;
  if (disabled) options.store = 'memory';
  /** With `debug`, every public event and every request is logged. */
  const log = (what: string, detail?: unknown) => {
    if (options.debug) console.log('[homing]', what, detail);
  };
  const emit = <Name extends keyof TrackerEvents>(name: Name, payload: TrackerEvents[Name]) => {
    log(name, payload);
    emitter.emit(name, payload);
  };
  const fail = (code: ErrorCode, message: string, cause?: unknown) => emit('error', homingError(code, message, cause));
  // Reported after the caller had a chance to subscribe with on('error').
  if (problems.length) {
    queueMicrotask(() => problems.forEach((problem) => fail('invalid_option', problem)));
    console.warn(`[homing] ${problems.join('; ')}`);
  }

  const clock = options.clock ?? systemClock;
  const consent = createConsent(USER_STORAGE_KEY, options.honorGlobalPrivacyControl);
  const plugins: Plugin[] = options.beforeSend ? [...options.plugins, { name: 'beforeSend', enrich: options.beforeSend }] : options.plugins;
  const counts = { received: 0, sent: 0, delivered: 0, retried: 0, requests: 0, bytesSent: 0, sampledOut: 0, filtered: 0 };
  const droppedBy: Record<DropReason, number> = { overflow: 0, rejected: 0, attempts: 0, invalid: 0, tooLarge: 0 };
  const maxEventBytes = Math.min(MAX_EVENT_BYTES, options.maxBatchBytes - ENVELOPE_RESERVE_BYTES);
  let storeFellBack = false;
  let closed = false;

  // Tabs share IndexedDB and localStorage: only the lock holder sends from them.
  const shared = !disabled && (options.store === 'auto' || options.store === 'indexeddb' || options.store === 'localstorage');
  const store = chooseStore(options, (from, to, cause) => {
    storeFellBack = true;
    // A store that is unusable from the start falls back while createTracker() runs: report it once on('error') can hear.
    queueMicrotask(() => fail('store_fallback', `the ${from} store failed (${errorMessage(cause)}); using ${to}`, cause));
  });
  const reportedWriteErrors = new Set<string>();
  const exitLog = shared ? createPageExitLog(options.storageKey) : undefined;
  const queue = createQueue({
    store,
    exitLog,
    onRemoved: shared ? (ids) => sender.announceRemoved(ids) : undefined,
    maxQueueSize: options.maxQueueSize,
    now: clock.now,
    onWriteError: (error) => {
      // A store failing on every write is reported once, not once per event.
      const message = errorMessage(error);
      if (reportedWriteErrors.has(message)) return;
      reportedWriteErrors.add(message);
      fail('store_error', `writing to the ${store.kind} store failed (${message})`, error);
    },
  });

  const dropped = (reason: DropReason, batch: StoredEvent[], message: string) => {
    droppedBy[reason] += batch.length;
    emit('dropped', { reason, events: eventsOf(batch), message });
    fail(DROP_CODES[reason], `${batch.length} event(s) dropped: ${message}`);
  };
  const overflowed = (batch: StoredEvent[]) => {
    if (batch.length) dropped('overflow', batch, `the queue holds at most ${options.maxQueueSize} events`);
  };

  const ready = queue.load().then(
    ({ events, invalid, handedOff, overflow }) => {
      log('loaded', events);
      if (invalid) fail('store_corrupt', `${invalid} unreadable record(s) in the ${store.kind} store were discarded`);
      overflowed(overflow);
      return events.length > handedOff;
    },
    (error) => {
      fail('store_error', `loading queued events failed: ${errorMessage(error)}`, error);
      return false;
    },
  );

  /** Events a tab that went away rescued (its store write never committed) are the sender's to send. */
  const adoptRescued = () => {
    if (exitLog && sender.held) overflowed(queue.adopt(exitLog.takeRescued()));
  };
  const storeChanged = () =>
    queueMicrotask(() => {
      delivery.storeChanged();
      adoptRescued();
      void flush();
    });
  const sender: SenderLock = shared
    ? createSenderLock(`${options.storageKey}:sender`, clock, { acquired: storeChanged, nudged: () => sender.held && storeChanged(), removed: (ids) => queue.forget(ids) })
    : { held: true, nudge() {}, announceRemoved() {}, othersWaiting: async () => false, release() {}, resume() {} };

  const budget = createKeepaliveBudget();
  const delivery = createDelivery({
    // batchSize, maxBatchBytes, maxAttempts, flushInterval, writeKey and random, as resolved.
    ...options,
    ...chooseTransports(options, budget, clock.now),
    deferred: typeof options.transport === 'object' ? undefined : createDeferredRequest(options.endpoint),
    queue,
    budget,
    clock,
    // An opted-out user sends nothing, as if offline.
    isOnline: () => !consent.optedOut && isOnline(),
    ready,
    sender,
    shared,
    leaseMs: options.timeout + LEASE_MARGIN_MS,
    report: {
      sent(batch, bytes) {
        counts.requests++;
        counts.sent += batch.length;
        counts.bytesSent += bytes;
        log('sending', { events: batch.length, bytes });
      },
      delivered(batch) {
        counts.delivered += batch.length;
        emit('delivered', { events: eventsOf(batch) });
      },
      dropped,
      failed: (error) => fail('internal', `sending failed: ${errorMessage(error)}`, error),
      retry(batch, attempt, delayMs, reason) {
        counts.retried += batch.length;
        emit('retry', { events: eventsOf(batch), attempt, delayMs, reason });
      },
    },
  });

  const identity = createIdentityStore(USER_STORAGE_KEY, cryptoRandomBytes, options.sessionTimeout);
  const builder = createEventBuilder(clock.now, cryptoRandomBytes);

  const enqueue = (input: EventInput, userId?: unknown) => {
    try {
      if (disabled) return fail('invalid_option', `${input.type}() ignored: invalid options disabled the tracker (see the first error)`);
      if (consent.optedOut) return log('opted out', input.type);
      if (input.type === 'identify') {
        if ((typeof userId !== 'string' || !userId) && typeof userId !== 'number') {
          droppedBy.invalid++;
          return fail('invalid_event', `identify() ignored: userId must be a non-empty string, got ${typeof userId}`);
        }
        identity.setUserId(String(userId));
      }
      if (closed) return fail('shut_down', `${input.type}() after shutdown() is ignored`);
      const built = builder.build(input, identity.current(clock.now()));
      if (!built.ok) {
        droppedBy.invalid++;
        return fail('invalid_event', `${input.type}() ignored: ${built.reason}`);
      }
      const { repairs } = built;
      if (repairs.length) fail('invalid_property', `${describeEvent(built.event)} repaired: ${repairs.join('; ')}`);
      const outcome = runPlugins(plugins, built.event, (plugin, error) =>
        fail('plugin_error', `plugin ${plugin} threw on ${describeEvent(built.event)} (${errorMessage(error)}); skipped`, error),
      );
      if ('dropped' in outcome) {
        counts.filtered++;
        return log('filtered', { by: outcome.dropped, event: built.event });
      }
      const { event } = outcome;
      emit('track', event);
      if (!isSampledIn(event.anonymousId, options.sampleRate)) {
        counts.sampledOut++;
        return log('sampled out', event);
      }
      const bytes = utf8Length(JSON.stringify(event));
      if (bytes > maxEventBytes) {
        droppedBy.tooLarge++;
        const message = `${bytes} bytes, over the ${maxEventBytes}-byte limit`;
        emit('dropped', { reason: 'tooLarge', events: [event], message });
        return fail('event_too_large', `${describeEvent(event)} dropped: ${message}`);
      }
      counts.received++;
      overflowed(queue.enqueue(event, bytes));
      emit('queued', event);
      delivery.schedule();
    } catch (error) {
      fail('internal', `${input.type}() failed: ${errorMessage(error)}`, error);
    }
  };

  const stats = (): TrackerStats => {
    const failures = delivery.failures;
    const kind = store.kind;
    const health: Health =
      disabled || failures >= FAILING_AFTER || (storeFellBack && kind === 'memory') ? 'failing' : failures || storeFellBack ? 'degraded' : 'healthy';
    const dropped = Object.values(droppedBy).reduce((sum, n) => sum + n, 0);
    return { queued: queue.size, inFlight: delivery.inFlight, ...counts, dropped, droppedBy: { ...droppedBy }, store: kind, health };
  };

  const flush = async () => {
    try {
      await delivery.flush();
    } catch (error) {
      fail('internal', `flush() failed: ${errorMessage(error)}`, error);
    }
    return stats();
  };

  const unsubscribe = onPageLifecycle({
    hidden: () => delivery.handOff(false),
    pagehide() {
      delivery.handOff(true);
      exitLog?.rescue(queue.unconfirmed());
      // A page holding a lock cannot enter the back/forward cache; another tab takes over meanwhile.
      sender.release();
    },
    resume() {
      exitLog?.forgetRescue();
      sender.resume();
      delivery.rearm();
      void flush();
    },
    online: () => void flush(),
    beforeExit: () => {
      if (queue.waiting && !delivery.failures) void flush();
    },
    storage({ key, newValue }) {
      // The tab that rescued these is gone: what it did write is in the store, the rest in its rescue.
      if (newValue && key === exitLog?.rescuedKey) storeChanged();
    },
  });
  // Events left by earlier page loads go at once; those tracked since wait for their batch.
  void ready.then((leftovers) => (leftovers ? void delivery.flush() : delivery.schedule()));

  return {
    track: (event, ...[properties]) => enqueue({ type: 'track', event, properties }),
    page: (name, properties) => enqueue({ type: 'page', name, properties }),
    identify: (userId, traits) => enqueue({ type: 'identify', traits }, userId),
    reset() {
      if (!disabled) identity.reset();
    },
    optOut() {
      consent.optOut();
      queue.clear();
      delivery.rearm();
    },
    optIn() {
      consent.optIn();
      void flush();
    },
    flush,
    async shutdown() {
      if (closed) return;
      closed = true;
      unsubscribe();
      await flush();
      delivery.stop();
      sender.release();
      await queue.persisted();
    },
    stats,
    on(name, listener) {
      try {
        return emitter.on(name, listener);
      } catch (error) {
        // A name that is not even a property key (an object, a hostile proxy) subscribes nothing.
        fail('internal', `on() ignored: ${errorMessage(error)}`);
        return () => {};
      }
    },
  };
}

const eventsOf = (batch: StoredEvent[]) => batch.map((stored) => stored.event);

function describeEvent(event: HomingEvent): string {
  return event.type === 'track' ? `track("${event.event}")` : `${event.type}()`;
}

function chooseStore(options: ResolvedOptions, onFallback: (from: StoreKind, to: StoreKind, cause: unknown) => void): EventStore {
  const { store, storageKey } = options;
  if (typeof store === 'object') return store;
  const indexedDb = () => createIndexedDbStore(storageKey);
  const localStorage = () => createLocalStorageStore(storageKey);
  const memory = createMemoryStore;
  const chains = { auto: [indexedDb, localStorage, memory], indexeddb: [indexedDb, memory], localstorage: [localStorage, memory], memory: [memory] };
  return createAutoStore(chains[store], ({ from, to, cause }) => onFallback(from, to, cause));
}

function chooseTransports(options: ResolvedOptions, budget: KeepaliveBudget, now: () => number): { transport: Transport; beacon?: Transport } {
  const beacon = createBeaconTransport(options.endpoint, budget);
  if (typeof options.transport === 'object') return { transport: options.transport };
  const fetch = options.fetch ?? (typeof globalThis.fetch === 'function' ? (...args: Parameters<typeof globalThis.fetch>) => globalThis.fetch(...args) : undefined);
  if ((options.transport === 'beacon' || !fetch) && beacon) return { transport: beacon, beacon };
  const transport = fetch
    ? createFetchTransport({ endpoint: options.endpoint, fetch, budget, timeoutMs: options.timeout, now, compress: options.compress })
    : { name: 'none', send: async () => ({ kind: 'unsent' as const, cause: 'neither fetch nor sendBeacon is available' }) };
  return { transport, beacon };
}
