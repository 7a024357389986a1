/**
 * Plugins see every event after it is built and before it is queued: to enrich, redact or drop
 * it. They run in order; `beforeSend` runs last. A plugin that throws is reported and skipped:
 * the event goes on as it was. What a plugin returns is checked: an event without its type,
 * ids or context cannot be sent, and would spoil the whole batch it went out in.
 */
import type { HomingEvent } from './event';

export interface Plugin {
  name?: string;
  /** Returns the event (changed or not), or null to drop it. */
  enrich(event: HomingEvent): HomingEvent | null | undefined | void;
}

export type PluginOutcome = { event: HomingEvent } | { dropped: string } | { invalid: string };

export function runPlugins(plugins: Plugin[], event: HomingEvent, onError: (plugin: string, error: unknown) => void): PluginOutcome {
  for (const [index, plugin] of plugins.entries()) {
    const name = plugin.name || String(index);
    let result: HomingEvent | null | undefined | void;
    try {
      result = plugin.enrich(event);
    } catch (error) {
      onError(name, error);
      continue;
    }
    if (result === null) return { dropped: name };
    if (result === undefined) continue;
    if (!isSendable(result)) return { invalid: name };
    event = result;
  }
  return { event };
}

const TYPES = ['track', 'page', 'identify'];

/** Whether the fields a collector needs to accept (and dedupe) an event are there. */
export function isSendable(event: unknown): event is HomingEvent {
  const candidate = event as Partial<HomingEvent> | null;
  return (
    typeof candidate === 'object' &&
    !!candidate &&
    TYPES.includes(candidate.type!) &&
    typeof candidate.messageId === 'string' &&
    !!candidate.messageId &&
    typeof candidate.anonymousId === 'string' &&
    typeof candidate.timestamp === 'string' &&
    typeof candidate.context === 'object' &&
    !!candidate.context
  );
}
