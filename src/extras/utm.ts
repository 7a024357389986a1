/**
 * `homing/utm`: adds the page URL's `utm_` parameters to every event as `context.campaign`.
 * `createTracker({ endpoint, plugins: [utm()] })`.
 */
import type { Plugin } from '../capture/plugins';

/** Segment's `context.campaign` names for the `utm_` parameters. */
const UTM_FIELDS: Record<string, string> = { utm_source: 'source', utm_medium: 'medium', utm_campaign: 'name', utm_term: 'term', utm_content: 'content' };

export function utm(): Plugin {
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

/** The name it had in homing's core before it became an extra. */
export const utmPlugin = utm;
