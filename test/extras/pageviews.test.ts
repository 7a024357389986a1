// @vitest-environment happy-dom
// @vitest-environment-options {"url": "https://shop.example/start", "settings": {"navigation": {"disableMainFrameNavigation": true, "disableFallbackToSetURL": true}}}
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pageviews, ROUTE_SETTLE_MS } from '../../src/extras/pageviews';
import { createRecordingTracker } from './recording-tracker';

const START_URL = 'https://shop.example/start';
let stop: () => void = () => {};

/** Goes to `path` the way a router does: the URL first, then the new route's title. */
function route(path: string, title: string, method: 'pushState' | 'replaceState' = 'pushState'): void {
  history[method](null, '', path);
  document.title = title;
}

/** The page views recorded so far, as path, title and referrer. */
function views(tracker: ReturnType<typeof createRecordingTracker>) {
  return tracker.calls.map((call) => ({ path: call.path, title: call.title, referrer: call.properties?.referrer }));
}

function dispatchPageshow(persisted: boolean): void {
  dispatchEvent(Object.assign(new Event('pageshow'), { persisted }));
}

beforeEach(() => {
  vi.useFakeTimers();
  history.replaceState(null, '', START_URL);
  document.title = 'Start';
});

afterEach(() => {
  stop();
  vi.useRealTimers();
});

describe('page views for single-page apps', () => {
  it('records one page view for the page as loaded, once its route has settled', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    expect(tracker.calls).toHaveLength(0);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(tracker.calls).toEqual([{ method: 'page', name: undefined, properties: { source: 'pageviews' }, path: '/start', title: 'Start' }]);
  });

  it('records one page view per pushState, with the previous URL as referrer', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    route('/pricing', 'Pricing');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    route('/about', 'About');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(views(tracker)).toEqual([
      { path: '/start', title: 'Start', referrer: undefined },
      { path: '/pricing', title: 'Pricing', referrer: START_URL },
      { path: '/about', title: 'About', referrer: 'https://shop.example/pricing' },
    ]);
  });

  it('reads the title the route sets after the URL changed', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    history.pushState(null, '', '/pricing');
    // A framework renders the route and sets its title in a later task.
    setTimeout(() => (document.title = 'Pricing'), 16);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(views(tracker).at(-1)).toEqual({ path: '/pricing', title: 'Pricing', referrer: START_URL });
  });

  it('records nothing for a replaceState that keeps the URL, and one for a replaceState that changes it', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    history.replaceState({ scroll: 120 }, '', location.href);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(tracker.calls).toHaveLength(1);
    route('/start?tab=reviews', 'Reviews', 'replaceState');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(views(tracker).map((view) => view.path)).toEqual(['/start', '/start']);
    expect(tracker.calls[1]?.properties).toEqual({ referrer: START_URL, source: 'pageviews' });
  });

  it('records back and forward (popstate) as page views of the route returned to', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    route('/pricing', 'Pricing');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    // happy-dom's history.back() is asynchronous in its own way: a router sees popstate, as here.
    history.replaceState(null, '', START_URL);
    dispatchEvent(new PopStateEvent('popstate'));
    document.title = 'Start';
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(views(tracker)).toEqual([
      { path: '/start', title: 'Start', referrer: undefined },
      { path: '/pricing', title: 'Pricing', referrer: START_URL },
      { path: '/start', title: 'Start', referrer: 'https://shop.example/pricing' },
    ]);
  });

  it('records URL changes that follow each other within the settle time as one navigation, for the URL they end on', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    history.pushState(null, '', '/old-pricing');
    route('/pricing', 'Pricing', 'replaceState');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(views(tracker).map((view) => view.path)).toEqual(['/start', '/pricing']);
  });

  it('ignores a change of the fragment alone, unless asked to count it', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    history.pushState(null, '', '#reviews');
    dispatchEvent(new HashChangeEvent('hashchange'));
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(tracker.calls).toHaveLength(1);
    stop();

    const counting = createRecordingTracker();
    stop = pageviews(counting, { hash: true });
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    location.hash = 'specs';
    dispatchEvent(new HashChangeEvent('hashchange'));
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(counting.calls.map((call) => call.path)).toEqual(['/start#reviews', '/start#specs']);
  });

  it('records a page restored from the back/forward cache once, and nothing for an ordinary pageshow', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    route('/pricing', 'Pricing');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    dispatchPageshow(false);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(tracker.calls).toHaveLength(2);
    dispatchEvent(new Event('pagehide'));
    dispatchPageshow(true);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    // The restored route keeps the referrer it had: the user came back to the same view.
    expect(views(tracker).slice(1)).toEqual([
      { path: '/pricing', title: 'Pricing', referrer: START_URL },
      { path: '/pricing', title: 'Pricing', referrer: START_URL },
    ]);
  });

  it('records a pending page view at once when the page is hidden or left', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    route('/checkout', 'Checkout');
    dispatchEvent(new Event('pagehide'));
    expect(views(tracker).map((view) => view.path)).toEqual(['/start', '/checkout']);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(tracker.calls).toHaveLength(2);
  });

  it('records a pending page view when the page is hidden, before the listeners that the tracker added earlier', () => {
    const order: string[] = [];
    document.addEventListener('visibilitychange', () => order.push('tracker hands off'));
    const tracker = { page: () => void order.push('page view') };
    stop = pageviews(tracker);
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    try {
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    } finally {
      delete (document as { visibilityState?: string }).visibilityState;
    }
    expect(order).toEqual(['page view', 'tracker hands off']);
  });

  it('stops: no more page views, and the page gets its own history methods back', () => {
    const { pushState, replaceState } = history;
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    expect(history.pushState).not.toBe(pushState);
    stop();
    expect(history.pushState).toBe(pushState);
    expect(history.replaceState).toBe(replaceState);
    route('/pricing', 'Pricing');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(tracker.calls).toHaveLength(0);
  });

  it('leaves a wrapper another script put on pushState since, and stops calling back through its own', () => {
    const tracker = createRecordingTracker();
    stop = pageviews(tracker);
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    const ours = history.pushState;
    const theirs = function (this: History, ...args: Parameters<History['pushState']>) {
      return ours.apply(this, args);
    };
    history.pushState = theirs;
    stop();
    expect(history.pushState).toBe(theirs);
    route('/pricing', 'Pricing');
    vi.advanceTimersByTime(ROUTE_SETTLE_MS);
    expect(tracker.calls).toHaveLength(1);
  });
});
