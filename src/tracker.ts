/**
 * The public tracker: the one place that wires capture, this tab's queue, delivery and the page
 * lifecycle together. No public method throws into the host page.
 */
import { createBurst } from './capture/burst';
import { capture, type Captured } from './capture/capture';
import { createConsent } from './capture/consent';
import { readEnvironment } from './capture/environment';
import { cryptoRandomBytes } from './capture/id';
import { createIdentityStore } from './capture/identity';
import { createPageReader } from './capture/page';
import { systemClock } from './clock';
import { createDelivery } from './delivery/delivery';
import { errorMessage } from './errors';
import { createIntake } from './intake';
import { resolveOptions, type TrackerOptions } from './options';
import { isOnline, onPageLifecycle } from './page-lifecycle';
import { createReporter, eventsOf, type Health, type TrackerStats } from './reporter';
import { STORE_TIMEOUT_MS } from './store/store-chain';
import { createTabQueue } from './tabs/tab-queue';
import type { StoredEvent } from './store/event-store';
import type { EventMap, Tracker } from './tracker-types';

/** The user's ids, session and consent are the site's, shared by every tracker whatever its storageKey. */
const USER_STORAGE_KEY = 'homing';
/** Consecutive failures after which the tracker calls itself failing rather than degraded. */
const FAILING_AFTER = 3;

/** Debug build only; a page that made console throw gets nothing rather than an exception. */
function say(level: 'log' | 'warn', text: string, detail?: unknown) {
  try {
    if (detail === undefined) console[level](`[homing] ${text}`);
    else console[level](`[homing] ${text}`, detail);
  } catch {
    // As said.
  }
}

export function createTracker<Events extends { [Name in keyof Events]: object } = EventMap>(input: TrackerOptions): Tracker<Events> {
  const { options, problems } = resolveOptions(input);
  const disabled = !options.endpoint;
  if (disabled) options.store = 'memory';
  const clock = options.clock ?? systemClock;
  const reporter = createReporter(__DEBUG__ && options.debug ? (what, detail) => say('log', what, detail) : undefined);
  // Reported once the caller had a chance to subscribe with on('error').
  queueMicrotask(() => problems.forEach(({ option, sentence }) => reporter.error('invalid_option', { option }, sentence)));
  if (__DEBUG__ && problems.length) say('warn', problems.map(({ sentence }) => sentence).join('; '));

  const consent = createConsent(USER_STORAGE_KEY, options.consent === 'pending', options.honorGlobalPrivacyControl);
  const identity = createIdentityStore(USER_STORAGE_KEY, cryptoRandomBytes, options.sessionTimeout, () => consent.granted);
  const readPage = createPageReader();
  let fellBack = false;
  const storeErrors = new Set<string>();
  let closed = false;
  /** `pagehide` was seen: what is tracked from now on leaves with the page at once. */
  let leaving = false;
  /** The page is hidden: what is sent now goes in keepalive requests. */
  let hidden = false;

  const handedOff = (events: StoredEvent[]) => {
    reporter.count('handedOff', events.length);
    reporter.emit('handedOff', () => ({ events: eventsOf(events)() }));
  };
  const tab = createTabQueue(options, () => consent.granted, {
    fellBack(from, to, cause) {
      fellBack = true;
      // A store unusable from the start falls back while createTracker() runs: report it once on('error') can hear.
      queueMicrotask(() => reporter.error('store_fallback', { reason: to, cause }, __DEBUG__ && `the ${from} store failed (${errorMessage(cause)}); using ${to}`));
    },
    writeFailed(cause) {
      // A store failing on every write is reported once, not once per write.
      const message = errorMessage(cause);
      if (storeErrors.has(message)) return;
      storeErrors.add(message);
      reporter.error('store_error', { cause }, __DEBUG__ && `the ${tab.chain.kind} store failed (${message})`);
    },
    adopted(_events, dropped) {
      intake.overflowed(dropped);
      void delivery.flush();
    },
    carried: handedOff,
    corrupt: (count) => reporter.error('store_corrupt', { count }, __DEBUG__ && `${count} unreadable record(s) in the ${tab.chain.kind} store were discarded`),
  });
  const { queue } = tab;
  const delivery = createDelivery(options, clock, queue, {
    // After pagehide nothing more is sent by the loop: what waits was handed off or stays stored.
    mayAttempt: () => !disabled && !closed && !leaving && consent.granted && isOnline(),
    mayHandOff: () => consent.granted && isOnline(),
    hidden: () => hidden || leaving,
    ready: tab.ready,
    sent(batch, bytes) {
      reporter.count('requests');
      reporter.count('sent', batch.length);
      reporter.count('bytesSent', bytes);
    },
    decided: (batch, decision, result) =>
      reporter.decided(batch, decision, result, { attempt: delivery.circuit.failures, delayMs: delivery.circuit.wait(clock.now()), maxAttempts: options.maxAttempts }),
    handedOff,
    armed: tab.armed,
  });
  const intake = createIntake({ options, reporter, queue, delivery, environment: readEnvironment, clock });
  const burst = createBurst<Captured>(intake.take);

  const record = (type: Captured['type'], name: unknown, bag: unknown) => {
    try {
      if (disabled) return reporter.error('invalid_option', { option: 'endpoint' }, __DEBUG__ && `${type}() ignored: invalid options disabled the tracker (see the first error)`);
      if (closed) return reporter.error('shut_down', {}, __DEBUG__ && `${type}() after shutdown() is ignored`);
      if (consent.optedOut) return;
      const now = clock.now();
      burst.push(capture(type, name, bag, now, readPage(), identity.current(now)));
      if (leaving) queueMicrotask(leave);
    } catch (error) {
      reporter.error('internal', { cause: error }, __DEBUG__ && `${type}() failed: ${errorMessage(error)}`);
    }
  };

  const stats = (): TrackerStats => {
    burst.settle();
    const failures = delivery.circuit.failures;
    const kind = tab.chain.kind;
    const health: Health = disabled || failures >= FAILING_AFTER || (fellBack && kind === 'memory') ? 'failing' : failures || fellBack ? 'degraded' : 'healthy';
    return reporter.stats({ queued: queue.size, inFlight: delivery.sender.inFlight, store: kind, health });
  };
  const flush = async () => {
    try {
      burst.settle();
      await delivery.flush();
    } catch (error) {
      reporter.error('internal', { cause: error }, __DEBUG__ && `flush() failed: ${errorMessage(error)}`);
    }
    return stats();
  };
  /** The page is going away: what waits leaves with it, and the lock goes with the page. */
  const leave = () => {
    burst.settle();
    if (!consent.granted) return tab.leave([], false);
    tab.leave(delivery.leave());
  };

  const unsubscribe = onPageLifecycle({
    hidden() {
      hidden = true;
      void flush();
    },
    pagehide() {
      leaving = true;
      leave();
    },
    resume(restored) {
      hidden = false;
      if (restored) leaving = false;
      void (restored ? tab.rejoin() : Promise.resolve()).then(flush);
    },
    online: () => void flush(),
    storage: ({ key }) => key?.startsWith(`${options.storageKey}:`) && tab.discover(),
    beforeExit: () => queue.waiting.length && !delivery.circuit.failures && void flush(),
  });
  // Storage is read (and orphans adopted) only once there is consent: pending, nothing is touched.
  let started = false;
  const start = () => {
    if (!started) void tab.start().then(() => delivery.flush());
    started = true;
  };
  if (consent.granted) start();

  return {
    track: (event, ...[properties]) => record('track', event, properties),
    page: (name, properties) => record('page', name, properties),
    identify(userId, traits) {
      if ((typeof userId !== 'string' || !userId) && typeof userId !== 'number') return reporter.dropped('invalid', [], { count: 1 }, __DEBUG__ && `identify() ignored: userId must be a non-empty string, got ${typeof userId}`);
      if (!disabled && !consent.optedOut) identity.setUserId(String(userId));
      record('identify', undefined, traits);
    },
    reset: () => disabled || identity.reset(),
    optOut() {
      consent.optOut();
      burst.settle();
      queue.clear();
      delivery.rearm();
    },
    optIn() {
      const waited = !consent.granted;
      consent.optIn();
      start();
      if (waited) {
        identity.persist();
        tab.writes.put([...queue.waiting]);
      }
      void flush();
    },
    flush,
    async shutdown() {
      if (closed) return;
      await flush();
      closed = true;
      unsubscribe();
      delivery.stop();
      // Bounded: a store that never answers must not hold shutdown() for good.
      await Promise.race([tab.writes.persisted(), new Promise<void>((resolve) => clock.setTimeout(() => resolve(), STORE_TIMEOUT_MS))]);
      tab.leave([]);
    },
    stats,
    on(name, listener) {
      try {
        return reporter.on(name, listener as never);
      } catch (error) {
        reporter.error('internal', { cause: error }, __DEBUG__ && `on() ignored: ${errorMessage(error)}`);
        return () => {};
      }
    },
  };
}

export type { Tracker, EventMap } from './tracker-types';
export type { TrackerEvents, TrackerStats, Health } from './reporter';
