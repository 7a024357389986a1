/**
 * `homing/pageviews`: page views for single-page apps, without code. One `page` event for the
 * page as loaded, then one for every URL change: `history.pushState`, `history.replaceState`
 * (only when the URL changed), `popstate` (back and forward), `hashchange` when asked, and a
 * restore from the back/forward cache (`pageshow` persisted).
 *
 * A page view is recorded once the route has settled: ROUTE_SETTLE_MS after the last URL change.
 * By then the app has rendered the new route and set its title, which the tracker reads when the
 * event is tracked. URL changes that follow each other within that time (a redirect, a router
 * replacing the URL it just pushed) are one navigation and make one page view, for the URL they
 * end on. A page that is hidden or left while a view is pending records it at once, before the
 * tracker hands its events off.
 *
 * Properties: `referrer` is the URL of the previous page view (the first one keeps
 * `document.referrer`), and `source: 'pageviews'` tells these events from the app's own.
 */
import type { Tracker } from '../index';

export interface PageviewsOptions {
  /** Count a change of the URL's `#fragment` alone as a new page view. Default false. */
  hash?: boolean;
}

/** The one method of a tracker this extra needs. */
export type PageviewTracker = Pick<Tracker, 'page'>;

/**
 * A tenth of a second: about the longest delay nobody notices, and time for a framework to
 * render the new route (its effects run after the next paint) and set `document.title`.
 */
export const ROUTE_SETTLE_MS = 100;

/** What the last page view recorded: the next one compares its URL and names it as referrer. */
interface PageView {
  url: string;
  referrer: string | undefined;
}

/** Starts recording page views into `tracker`; returns the function that stops it. */
export function pageviews(tracker: PageviewTracker, options: PageviewsOptions = {}): () => void {
  const scope = globalThis as unknown as Window;
  if (typeof scope.addEventListener !== 'function' || !scope.history || !scope.location) return () => {};
  const countsHash = options.hash === true;
  const urlOf = () => (countsHash ? scope.location.href : scope.location.href.split('#')[0]!);

  let last: PageView | undefined;
  let pending: ReturnType<typeof setTimeout> | undefined;
  let restored = false;

  const record = () => {
    clearTimeout(pending);
    pending = undefined;
    const url = urlOf();
    if (last && url === last.url && !restored) return;
    // A restored page shows the route it showed before it was cached, reached from the same place.
    const referrer = restored ? last?.referrer : last?.url;
    restored = false;
    last = { url, referrer };
    tracker.page(undefined, referrer === undefined ? { source: 'pageviews' } : { referrer, source: 'pageviews' });
  };
  const settle = () => {
    clearTimeout(pending);
    pending = setTimeout(record, ROUTE_SETTLE_MS);
  };
  const recordPending = () => {
    if (pending !== undefined) record();
  };
  const settleRestored = (event: Event) => {
    if (!(event as PageTransitionEvent).persisted) return;
    restored = true;
    settle();
  };

  const unpatchHistory = afterHistoryChange(scope.history, settle);
  // In the capture phase on window: a pending view is tracked before the tracker hands its events off.
  const listeners: Array<[string, (event: Event) => void]> = [
    ['popstate', settle],
    ['pagehide', recordPending],
    ['visibilitychange', () => scope.document.visibilityState === 'hidden' && recordPending()],
    ['pageshow', settleRestored],
  ];
  if (countsHash) listeners.push(['hashchange', settle]);
  for (const [type, listener] of listeners) scope.addEventListener(type, listener, true);
  settle();

  return () => {
    clearTimeout(pending);
    unpatchHistory();
    for (const [type, listener] of listeners) scope.removeEventListener(type, listener, true);
  };
}

/**
 * Calls `changed` after every `pushState` and `replaceState`: the History API fires no event for
 * them. Returns the function that puts the page's own methods back, or, when another script
 * wrapped them since, leaves that script's wrapper in place and only stops calling `changed`.
 */
function afterHistoryChange(history: History, changed: () => void): () => void {
  let active = true;
  const restores = (['pushState', 'replaceState'] as const).map((method) => {
    const original = history[method];
    const wrapped = function (this: History, ...args: Parameters<History['pushState']>) {
      const result = original.apply(this, args);
      if (active) changed();
      return result;
    };
    history[method] = wrapped;
    return () => {
      if (history[method] === wrapped) history[method] = original;
    };
  });
  return () => {
    active = false;
    restores.forEach((restore) => restore());
  };
}
