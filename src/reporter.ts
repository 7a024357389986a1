/**
 * What the tracker tells the host page: the counts behind `stats()`, and the events behind
 * `on()`. Payloads are built only when someone listens: an overflow of a thousand events costs
 * one report, and nothing at all when nobody listens.
 */
import type { HomingEvent } from './capture/event';
import type { Decision, DropReason } from './delivery/decide';
import { createEmitter } from './emitter';
import { homingError, type ErrorCode, type ErrorFigures, type HomingError } from './errors';
import type { SendResult } from './transport/transport';
import type { StoredEvent, StoreKind } from './store/event-store';

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
  /** Events the collector confirmed with a 2xx. */
  delivered: number;
  /** Events handed to the browser as the page went away and trusted to arrive: never sent again. */
  handedOff: number;
  /** Events put back in the queue after a retryable failure (once per failure). */
  retried: number;
  /** Events given up, all reasons. */
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** Requests made. */
  requests: number;
  /** Request body bytes sent. */
  bytesSent: number;
  /** Events dropped on purpose by a plugin or `beforeSend`. */
  filtered: number;
  store: StoreKind;
  /** degraded: retrying, or the store fell back; failing: several failures in a row, or only memory is left. */
  health: Health;
}

export interface TrackerEvents {
  /** Every event as it is queued, after the plugins: a live tap. */
  track: HomingEvent;
  queued: HomingEvent;
  delivered: { events: HomingEvent[] };
  handedOff: { events: HomingEvent[] };
  dropped: { reason: DropReason; events: HomingEvent[]; message?: string };
  retry: { events: HomingEvent[]; attempt: number; delayMs: number; status?: number; reason: string };
  error: HomingError;
}

/** The error code reported with each reason for dropping events. */
const DROP_CODES: Record<DropReason, ErrorCode> = {
  overflow: 'queue_overflow',
  rejected: 'rejected',
  attempts: 'gave_up',
  invalid: 'invalid_event',
  tooLarge: 'event_too_large',
};

type Count = 'received' | 'sent' | 'delivered' | 'handedOff' | 'retried' | 'requests' | 'bytesSent' | 'filtered';

/** `log`, in the debug build with `debug: true`: every event told, as it is told. */
export function createReporter(log?: (what: string, detail: unknown) => void) {
  const emitter = createEmitter<TrackerEvents>();
  const counts: Record<Count, number> = { received: 0, sent: 0, delivered: 0, handedOff: 0, retried: 0, requests: 0, bytesSent: 0, filtered: 0 };
  const droppedBy: Record<DropReason, number> = { overflow: 0, rejected: 0, attempts: 0, invalid: 0, tooLarge: 0 };
  const emit = <Name extends keyof TrackerEvents>(name: Name, payload: () => TrackerEvents[Name]) => {
    if (__DEBUG__ && log) log(name, payload());
    emitter.emit(name, payload);
  };

  return {
    on: emitter.on,
    emit,
    count(name: Count, by = 1) {
      counts[name] += by;
    },
    error(code: ErrorCode, figures: ErrorFigures = {}, sentence?: string | false) {
      if (emitter.has('error') || (__DEBUG__ && sentence)) emit('error', () => homingError(code, figures, sentence));
    },
    dropped(reason: DropReason, events: HomingEvent[] | (() => HomingEvent[]), figures: ErrorFigures = {}, sentence?: string | false) {
      const list = typeof events === 'function' ? undefined : events;
      const count = figures.count ?? list?.length ?? 0;
      droppedBy[reason] += count;
      emit('dropped', () => ({ reason, events: list ?? (events as () => HomingEvent[])(), ...(__DEBUG__ && sentence ? { message: sentence } : {}) }));
      this.error(DROP_CODES[reason], { count, reason, ...figures }, sentence);
    },
    /** An answer was applied (see delivery/decide.ts): counted, and told to the listeners. */
    decided(batch: StoredEvent[], decision: Decision, result: SendResult, { attempt, delayMs, maxAttempts }: { attempt: number; delayMs: number; maxAttempts: number }) {
      const status = 'status' in result ? result.status : undefined;
      // `!= null`: an opaque redirect answers status 0, which is an answer, not a network error.
      const reason = status != null ? `HTTP ${status}` : `network error (${causeOf(result)})`;
      if (decision.settled) {
        this.count(decision.settled, batch.length);
        emit(decision.settled, () => ({ events: eventsOf(batch)() }));
      }
      if (decision.drop) {
        const { reason: why, events } = decision.drop;
        const sentence = __DEBUG__ && `${events.length} event(s) dropped: ${why === 'attempts' ? `gave up after ${maxAttempts} attempts; last: ${reason}` : why === 'rejected' ? `the collector rejected the batch with HTTP ${status}` : 'the collector answered 413 to a single event'}`;
        this.dropped(why, eventsOf(events), { count: events.length, status }, sentence);
      }
      if (decision.attempted && decision.requeue.length) {
        this.count('retried', decision.requeue.length);
        emit('retry', () => ({ events: eventsOf(decision.requeue)(), attempt, delayMs, status, reason }));
      }
    },
    stats(live: Pick<TrackerStats, 'queued' | 'inFlight' | 'store' | 'health'>): TrackerStats {
      const dropped = Object.values(droppedBy).reduce((sum, n) => sum + n, 0);
      return { ...live, ...counts, dropped, droppedBy: { ...droppedBy } };
    },
  };
}

export type Reporter = ReturnType<typeof createReporter>;

/** A failed request's cause as a string: "TypeError: Failed to fetch". */
function causeOf(result: SendResult): string {
  try {
    return String((result as { cause?: unknown }).cause);
  } catch {
    return 'unknown error';
  }
}

/** The events of a batch as listeners see them: parsed back from their JSON only for them. */
export const eventsOf = (batch: StoredEvent[]) => () => batch.map((stored) => JSON.parse(stored.json) as HomingEvent);
