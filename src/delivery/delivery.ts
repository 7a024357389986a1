/**
 * Delivery, composed: the engine's requests, the envelope, the transports, the circuit, the
 * trust in hand-offs, the send loop, and the fetchLater kept armed with what waits.
 */
import type { Clock } from '../clock';
import type { ResolvedOptions } from '../options';
import type { Queue } from '../queue/queue';
import type { StoredEvent } from '../store/event-store';
import { createKeepaliveBudget } from '../transport/keepalive-budget';
import type { SendResult } from '../transport/transport';
import { createCircuit } from './backoff';
import type { Decision } from './decide';
import { engineRequests } from './engine';
import { createEnvelope } from './envelope';
import { handOff } from './hand-off';
import { createSender } from './sender';
import { chooseTransports } from './transports';
import { createTrust } from './trust';

export interface DeliveryHooks {
  mayAttempt(): boolean;
  /** Whether the page may hand events off as it goes: online, with consent. */
  mayHandOff(): boolean;
  hidden(): boolean;
  ready(): Promise<unknown>;
  sent(batch: StoredEvent[], bytes: number): void;
  decided(batch: StoredEvent[], decision: Decision, result: SendResult): void;
  handedOff(events: StoredEvent[]): void;
  /** The events a fetchLater now carries should the tab die (empty: none). */
  armed(events: StoredEvent[]): void;
}

export function createDelivery(options: ResolvedOptions, clock: Clock, queue: Queue, hooks: DeliveryHooks) {
  const engine = engineRequests(options.engine, options.endpoint, options.writeKey ?? '');
  const envelope = createEnvelope(engine.keyInBody ? options.writeKey : undefined);
  const budget = createKeepaliveBudget();
  const { live, exit, deferred } = chooseTransports(options.transport, options.fetch, engine, budget, options.timeout, clock);
  const circuit = createCircuit(options.random);
  const trust = createTrust(options.storageKey, clock.now, hooks.mayHandOff);
  const sender = createSender({
    ...options,
    queue,
    transport: live,
    envelope,
    circuit,
    budget,
    clock,
    timeoutMs: options.timeout,
    mayAttempt: hooks.mayAttempt,
    hidden: hooks.hidden,
    ready: hooks.ready,
    sent(batch, bytes) {
      disarm();
      hooks.sent(batch, bytes);
    },
    decided(batch, decision, result) {
      if (decision.failed) trust.failed();
      hooks.decided(batch, decision, result);
    },
  });
  /** The armed fetchLater's body counts against the page's keepalive budget, as the browser counts it. */
  let armedBytes = 0;
  const disarm = () => {
    // Nothing armed, nothing to undo: no localStorage write per request or burst.
    if (!deferred || !armedBytes) return;
    deferred.disarm();
    budget.release(armedBytes);
    armedBytes = 0;
    hooks.armed([]);
  };

  return {
    sender,
    circuit,
    schedule: sender.schedule,
    flush: sender.flush,
    /** Once per burst and per drain: the browser sends what waits should the tab die. */
    rearm() {
      if (!deferred) return;
      disarm();
      const batch = queue.peek(options.batchSize, sender.room(budget.available));
      if (!batch.length || !hooks.mayAttempt()) return;
      const { body, bytes } = envelope.wrap(batch, clock.now());
      if (!budget.reserve(bytes) || !deferred.arm(body)) return budget.release(bytes);
      armedBytes = bytes;
      hooks.armed(batch);
    },
    /** `pagehide`: returns what was handed off. */
    leave(): StoredEvent[] {
      disarm();
      return handOff({ queue, sender, envelope, exit, budget, clock, batchSize: options.batchSize, trusted: trust.trusted, sent: hooks.sent, handedOff: hooks.handedOff });
    },
    stop() {
      sender.stop();
      disarm();
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
