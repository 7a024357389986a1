/**
 * The page an event was tracked on, read from `location` and `document` when track() is called:
 * an SPA changes its URL and title without reloading. A burst of calls on one URL shares one
 * reading until the task ends, as reading the DOM costs more than the rest of a call.
 */
import type { PageContext } from './event';

export function createPageReader(): () => PageContext | undefined {
  let cached: PageContext | undefined;
  return () => {
    const { location, document } = globalThis;
    if (!location || !document) return undefined;
    if (cached?.url !== location.href) {
      if (!cached) queueMicrotask(() => (cached = undefined));
      cached = { url: location.href, path: location.pathname, referrer: document.referrer, title: document.title };
    }
    return cached;
  };
}
