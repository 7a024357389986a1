/**
 * Everything behind the public object: the user's consent and identity, this tab's queue, the
 * intake of bursts and their delivery. Built once, in a task after createTracker() or on the
 * first call that needs it, so that reading storage, taking a lock and compiling this code never
 * weigh on the host page's call to createTracker().
 */
import { createConsent } from './capture/consent';
import { readEnvironment } from './capture/environment';
import { cryptoRandomBytes } from './capture/id';
import { createIdentityStore } from './capture/identity';
import type { Clock } from './clock';
import { createDelivery } from './delivery/delivery';
import { errorMessage } from './errors';
import { createIntake } from './intake';
import type { ResolvedOptions } from './options';
import { isOnline, onStorage } from './page-lifecycle';
import { eventsOf, type Health, type Reporter } from './reporter';
import type { StoredEvent } from './store/event-store';
import { createTabQueue } from './tabs/tab-queue';

/** The user's ids, session and consent are the site's, shared by every tracker whatever its storageKey. */
const USER_STORAGE_KEY = 'homing';
/** Consecutive failures after which the tracker calls itself failing rather than degraded. */
const FAILING_AFTER = 3;

/** What the public object knows of the page, and the pipeline reads. */
export interface PageState {
  closed: boolean;
  /** `pagehide` was seen: what is tracked from now on leaves with the page at once. */
  leaving: boolean;
  /** The page is hidden: what is sent now goes in keepalive requests. */
  hidden: boolean;
}

export function createPipeline(options: ResolvedOptions, clock: Clock, reporter: Reporter, page: PageState) {
  const disabled = !options.endpoint;
  const consent = createConsent(USER_STORAGE_KEY, options.consent === 'pending', options.honorGlobalPrivacyControl);
  const identity = createIdentityStore(USER_STORAGE_KEY, cryptoRandomBytes, options.sessionTimeout, () => consent.granted);
  let fellBack = false;
  const storeErrors = new Set<string>();

  const handedOff = (events: StoredEvent[]) => {
    reporter.count('handedOff', events.length);
    reporter.emit('handedOff', () => ({ events: eventsOf(events)() }));
  };
  const tab = createTabQueue(options, () => consent.granted, {
    fellBack(from, to, cause) {
      fellBack = true;
      // A store unusable from the start falls back while the pipeline is built: report it once on('error') can hear.
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
    mayAttempt: () => !disabled && !page.closed && !page.leaving && consent.granted && isOnline(),
    mayHandOff: () => consent.granted && isOnline(),
    hidden: () => page.hidden || page.leaving,
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
  const intake = createIntake({ options, reporter, queue, delivery, environment: readEnvironment, identity: identity.current, optedOut: () => consent.optedOut, clock });
  const stopDiscovery = onStorage(({ key }) => key?.startsWith(`${options.storageKey}:`) && tab.discover());

  // Storage is read (and orphans adopted) only once there is consent: pending, nothing is touched.
  let started = false;
  const start = () => {
    if (!started) void tab.start().then(() => delivery.flush());
    started = true;
  };
  if (consent.granted) start();

  return {
    identity,
    tab,
    queue,
    delivery,
    intake,
    identify(userId: string) {
      if (!consent.optedOut) identity.setUserId(userId);
    },
    /** Nothing is kept from now on, and what was queued is deleted. */
    optOut() {
      consent.optOut();
      queue.clear();
      delivery.rearm();
    },
    /** What waited in memory for consent is stored (and sent) from now on. */
    optIn() {
      const waited = !consent.granted;
      consent.optIn();
      start();
      if (!waited) return;
      identity.persist();
      tab.writes.put([...queue.waiting]);
    },
    health(): Health {
      const failures = delivery.circuit.failures;
      if (disabled || failures >= FAILING_AFTER || (fellBack && tab.chain.kind === 'memory')) return 'failing';
      return failures || fellBack ? 'degraded' : 'healthy';
    },
    /** The page is going away: what waits leaves with it, and the lock goes with the page. */
    leave() {
      if (!consent.granted) return tab.leave([], false);
      tab.leave(delivery.leave());
    },
    stop() {
      stopDiscovery();
      delivery.stop();
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
