/**
 * Plugins see every event after it is built and before it is queued: to enrich, redact or drop
 * it. They run in order; `beforeSend` runs last. A plugin that throws is reported and skipped:
 * the event goes on as it was.
 */
import type { HomingEvent } from './event';

export interface Plugin {
  name: string;
  /** Returns the event (changed or not), or null to drop it. */
  enrich(event: HomingEvent): HomingEvent | null | undefined | void;
}

export type PluginOutcome = { event: HomingEvent } | { dropped: string };

export function runPlugins(plugins: Plugin[], event: HomingEvent, onError: (plugin: string, error: unknown) => void): PluginOutcome {
  for (const plugin of plugins) {
    let result: HomingEvent | null | undefined | void;
    try {
      result = plugin.enrich(event);
    } catch (error) {
      onError(plugin.name, error);
      continue;
    }
    if (result === null) return { dropped: plugin.name };
    if (result && typeof result === 'object') event = result;
  }
  return { event };
}

/** Segment's `context.campaign` names for the `utm_` parameters. */
const UTM_FIELDS: Record<string, string> = { utm_source: 'source', utm_medium: 'medium', utm_campaign: 'name', utm_term: 'term', utm_content: 'content' };

/** Adds the page URL's `utm_` parameters as `context.campaign`. Opt in: `plugins: [utmPlugin()]`. */
export function utmPlugin(): Plugin {
  return {
    name: 'utm',
    enrich(event) {
      const search = globalThis.location?.search;
      if (!search) return event;
      const campaign: Record<string, string> = {};
      new URLSearchParams(search).forEach((value, key) => {
        const field = UTM_FIELDS[key];
        if (field) campaign[field] = value;
      });
      if (Object.keys(campaign).length) event.context.campaign = campaign;
      return event;
    },
  };
}
