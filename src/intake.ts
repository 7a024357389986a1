/**
 * A burst of captured calls becoming queued events, in the burst's own task: each is enriched
 * and serialized once, then the whole burst joins the queue in one push. What is dropped on the
 * way (invalid, too large, overflow) is reported once for the burst, not once per event.
 */
import type { Captured } from './capture/capture';
import { createEnricher, type Enriched } from './capture/enrich';
import type { HomingEvent } from './capture/event';
import type { Environment } from './capture/environment';
import type { Identity } from './capture/identity';
import { MAX_EVENT_BYTES } from './capture/event';
import { cryptoRandomBytes } from './capture/id';
import { describeRepair, type Repair } from './capture/snapshot';
import type { Clock } from './clock';
import type { Delivery } from './delivery/delivery';
import { errorMessage } from './errors';
import type { ResolvedOptions } from './options';
import { nextSeq, type Queue } from './queue/queue';
import { eventsOf, type Reporter } from './reporter';
import type { StoredEvent } from './store/event-store';

/** Room for the envelope when a single event must fit in one request. */
const ENVELOPE_RESERVE_BYTES = 512;

export interface IntakeOptions {
  options: ResolvedOptions;
  reporter: Reporter;
  queue: Queue;
  delivery: Pick<Delivery, 'schedule' | 'rearm'>;
  environment: () => Environment;
  /** Who the user was at a given time. */
  identity: (at: number) => Identity;
  /** The user opted out: what they did is not even kept. */
  optedOut: () => boolean;
  clock: Clock;
}

export function createIntake({ options, reporter, queue, delivery, environment, identity, optedOut, clock }: IntakeOptions) {
  const plugins = options.beforeSend ? [...options.plugins, { name: 'beforeSend', enrich: options.beforeSend }] : options.plugins;
  const maxEventBytes = Math.min(MAX_EVENT_BYTES, options.maxBatchBytes - ENVELOPE_RESERVE_BYTES);
  let context: Environment | undefined;
  /** The repairs of the event being enriched, reported together. */
  let repairs: Array<[string, Repair, string?]> = [];
  const enrich = createEnricher({
    environment: () => (context ||= environment()),
    plugins,
    random: cryptoRandomBytes,
    maxEventBytes,
    onRepair: (...repair) => repairs.push(repair),
    onPluginError: (plugin, cause) => reporter.error('plugin_error', { reason: plugin, cause }, __DEBUG__ && `plugin ${plugin} threw (${errorMessage(cause)}); skipped`),
  });

  /** `skipped`: events of the burst older than all it queued, never enriched: built only for a listener. */
  const overflowed = (dropped: StoredEvent[], skipped: Array<() => HomingEvent> = []) => {
    const count = dropped.length + skipped.length;
    const events = () => [...eventsOf(dropped)(), ...skipped.map((event) => event())];
    if (count) reporter.dropped('overflow', events, { count }, __DEBUG__ && `${count} event(s) dropped: the queue holds at most ${options.maxQueueSize} events`);
  };

  return {
    overflowed,
    take(burst: Captured[]) {
      if (optedOut()) return;
      const ready: StoredEvent[] = [];
      const invalid: HomingEvent[] = [];
      const reasons: string[] = [];
      const skipped: Array<() => HomingEvent> = [];
      // Where no plugin can filter an event out, only the newest events the queue has room for can
      // stay in it: the older ones would be dropped as overflow the moment they were enriched.
      const room = options.maxQueueSize - (queue.size - queue.waiting.length);
      let excess = plugins.length ? 0 : burst.filter((captured) => !captured.invalid).length - room;
      for (const captured of burst) {
        const who = identity(captured.at);
        if (excess > 0 && !captured.invalid) {
          excess--;
          // Queued and dropped at once, as it would have been: told as both, to whoever listens.
          let event: HomingEvent | undefined;
          const built = () => (event ??= eventOf(enrich(captured, who)));
          reporter.emit('track', built);
          reporter.emit('queued', built);
          skipped.push(built);
          continue;
        }
        repairs = [];
        const enriched = enrich(captured, who);
        const described = describe(captured);
        if (repairs.length) {
          const [path, reason] = repairs[0]!;
          reporter.error('invalid_property', { path, reason, count: repairs.length }, __DEBUG__ && `${described} repaired: ${repairs.slice(0, 5).map((repair) => describeRepair(...repair)).join('; ')}`);
        }
        if (enriched.kind === 'invalid') {
          invalid.push(enriched.event);
          if (__DEBUG__) reasons.push(`${described} ignored: ${enriched.reason}`);
        }
        else if (enriched.kind === 'filtered') reporter.count('filtered');
        else if (enriched.kind === 'tooLarge') {
          const sentence = __DEBUG__ && `${described} dropped: ${enriched.bytes} bytes, over the ${maxEventBytes}-byte limit`;
          reporter.dropped('tooLarge', [enriched.event], { count: 1 }, sentence);
        } else {
          const { event, json, bytes } = enriched.serialized;
          reporter.emit('track', () => event);
          reporter.emit('queued', () => event);
          ready.push({ id: event.messageId, seq: nextSeq(clock.now()), json, bytes, attempts: 0 });
        }
      }
      if (invalid.length) reporter.dropped('invalid', invalid, {}, __DEBUG__ && reasons.join('; '));
      reporter.count('received', ready.length + skipped.length);
      overflowed(queue.push(ready), skipped);
      delivery.schedule();
      delivery.rearm();
    },
  };
}

function eventOf(enriched: Enriched): HomingEvent {
  return enriched.kind === 'ready' ? enriched.serialized.event : (enriched as { event: HomingEvent }).event;
}

function describe({ type, name, invalid }: Captured): string {
  return type === 'track' && !invalid ? `track(${JSON.stringify(name)})` : `${type}()`;
}
