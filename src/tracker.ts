/**
 * The public tracker: what the host page calls. It captures each call and listens to the page's
 * moments; everything else is the pipeline behind it, built after createTracker() returns. No
 * public method throws into the host page.
 */
import { createBurst } from './capture/burst';
import { capture, type Captured } from './capture/capture';
import { createPageReader } from './capture/page';
import { nextTask, systemClock } from './clock';
import { errorMessage } from './errors';
import { resolveOptions, type TrackerOptions } from './options';
import { onPageLifecycle } from './page-lifecycle';
import { createPipeline, type PageState, type Pipeline } from './pipeline';
import { createReporter, type TrackerStats } from './reporter';
import { STORE_TIMEOUT_MS } from './store/store-chain';
import type { EventMap, Tracker } from './tracker-types';

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

  const page: PageState = { closed: false, leaving: false, hidden: false };
  const readPage = createPageReader();
  let pipeline: Pipeline | undefined;
  const built = () => (pipeline ??= createPipeline(options, clock, reporter, page));
  const burst = createBurst<Captured>((captured) => built().intake.take(captured));
  /**
   * The pipeline, once every call captured so far went in: stats count them, and who the user
   * is or their consent changes only after the earlier calls were enriched with the old one.
   */
  const settled = () => {
    burst.settle();
    return built();
  };

  const record = (type: Captured['type'], name: unknown, bag: unknown) => {
    try {
      if (disabled) return reporter.error('invalid_option', { option: 'endpoint' }, __DEBUG__ && `${type}() ignored: invalid options disabled the tracker (see the first error)`);
      if (page.closed) return reporter.error('shut_down', {}, __DEBUG__ && `${type}() after shutdown() is ignored`);
      burst.push(capture(type, name, bag, clock.now(), readPage()));
      if (page.leaving) queueMicrotask(leave);
    } catch (error) {
      reporter.error('internal', { cause: error }, __DEBUG__ && `${type}() failed: ${errorMessage(error)}`);
    }
  };

  const stats = (): TrackerStats => {
    const { queue, delivery, tab, health } = settled();
    return reporter.stats({ queued: queue.size, inFlight: delivery.sender.inFlight, store: tab.chain.kind, health: health() });
  };
  const flush = async () => {
    try {
      await settled().delivery.flush();
    } catch (error) {
      reporter.error('internal', { cause: error }, __DEBUG__ && `flush() failed: ${errorMessage(error)}`);
    }
    return stats();
  };
  const leave = () => settled().leave();

  const unsubscribe = onPageLifecycle({
    hidden() {
      page.hidden = true;
      void flush();
    },
    pagehide() {
      page.leaving = true;
      leave();
    },
    resume(restored) {
      page.hidden = false;
      if (restored) page.leaving = false;
      void (restored ? built().tab.rejoin() : Promise.resolve()).then(flush);
    },
    online: () => void flush(),
    beforeExit: () => pipeline?.queue.waiting.length && !pipeline.delivery.circuit.failures && void flush(),
  });
  // Built in a task of its own: the host page's call returns before storage, locks or this code's compilation.
  nextTask(() => {
    if (page.closed) return;
    built();
    // The engine compiles a function on its first call: one capture here, thrown away, spares the page's first track() that.
    capture('track', 'compile', { compile: [true] }, 0, readPage());
  });

  return {
    // Not `(event, ...[properties])`: a rest parameter makes an array on every call.
    track: ((event: string, properties?: object) => record('track', event, properties)) as Tracker<Events>['track'],
    page: (name, properties) => record('page', name, properties),
    identify(userId, traits) {
      if ((typeof userId !== 'string' || !userId) && typeof userId !== 'number') return reporter.dropped('invalid', [], { count: 1 }, __DEBUG__ && `identify() ignored: userId must be a non-empty string, got ${typeof userId}`);
      if (!disabled) settled().identify(String(userId));
      record('identify', undefined, traits);
    },
    reset: () => disabled || settled().identity.reset(),
    optOut: () => settled().optOut(),
    optIn() {
      settled().optIn();
      void flush();
    },
    flush,
    async shutdown() {
      if (page.closed) return;
      await flush();
      page.closed = true;
      unsubscribe();
      const { stop, tab } = built();
      stop();
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
