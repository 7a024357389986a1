/**
 * `homing/vitals`: the page's Core Web Vitals and their companions (LCP, INP, CLS, FCP, TTFB),
 * measured by Google's `web-vitals` package, the reference implementation, bundled into this
 * entry point only. Each metric is tracked once per page, when the page is first hidden or left,
 * as a 'Web Vital' event `{ name, value, rating, id, navigationType, source: 'vitals' }` holding
 * its value at that moment. A page restored from the back/forward cache is a new page to
 * `web-vitals`: its metrics come again, with new ids, at its next hide.
 *
 * Why not web-vitals' own final report: it comes on `visibilitychange`, and a page that navigates
 * away fires `pagehide` first (Chromium does), after the tracker's page-exit hand-off. So this
 * extra follows every change (`reportAllChanges`) and tracks the latest values itself, at the
 * first of `pagehide` (in the capture phase, before the tracker hands its events off) and
 * `visibilitychange` to hidden (bubbling up to window, after every web-vitals listener read its
 * last entries).
 */
import { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals';
import type { Tracker } from '../index';

/** The one method of a tracker this extra needs. */
export type VitalsTracker = Pick<Tracker, 'track'>;

/**
 * What this extra reads of a web-vitals `Metric`, spelled out here so that the published types
 * do not depend on the web-vitals package (it is bundled, not installed).
 */
export interface VitalMetric {
  name: 'CLS' | 'FCP' | 'INP' | 'LCP' | 'TTFB';
  /** Milliseconds, except CLS: a unitless score. */
  value: number;
  rating: 'good' | 'needs-improvement' | 'poor';
  /** Unique per metric and page load: collectors dedupe or group on it. */
  id: string;
  /** 'navigate', 'reload', 'back-forward', 'back-forward-cache', 'prerender', 'restore', ... */
  navigationType: string;
}

/** The properties of one 'Web Vital' event (a type, not an interface: track() takes a record). */
export type WebVitalProperties = Pick<VitalMetric, 'name' | 'value' | 'rating' | 'id' | 'navigationType'> & { source: 'vitals' };

/** The metric as it goes on the wire: the performance entries behind it stay in the page. */
export function webVitalProperties(metric: VitalMetric): WebVitalProperties {
  const { name, value, rating, id, navigationType } = metric;
  return { name, value, rating, id, navigationType, source: 'vitals' };
}

export interface VitalsReporter {
  /** Keeps the latest value of a metric that was not tracked yet. */
  update(metric: VitalMetric): void;
  /** Tracks every metric kept, each once: later values of a tracked metric are ignored. */
  trackKept(): void;
}

/** The once-per-metric bookkeeping, apart from web-vitals and the page's events. */
export function createVitalsReporter(tracker: VitalsTracker): VitalsReporter {
  const kept = new Map<string, VitalMetric>();
  const tracked = new Set<string>();
  return {
    update(metric) {
      if (!tracked.has(metric.id)) kept.set(metric.id, metric);
    },
    trackKept() {
      for (const [id, metric] of kept) {
        tracked.add(id);
        tracker.track('Web Vital', webVitalProperties(metric));
      }
      kept.clear();
    },
  };
}

/**
 * Starts reporting web vitals into `tracker`; returns the function that stops it. `web-vitals`
 * cannot take its observers back: after stop() they run on but nothing is tracked.
 */
export function vitals(tracker: VitalsTracker): () => void {
  const scope = globalThis as unknown as Window;
  if (typeof scope.addEventListener !== 'function' || !scope.document || typeof PerformanceObserver === 'undefined') return () => {};
  const reporter = createVitalsReporter(tracker);
  for (const observe of [onTTFB, onFCP, onLCP, onINP, onCLS]) observe((metric) => reporter.update(metric), { reportAllChanges: true });
  const onVisibilityChange = () => scope.document.visibilityState === 'hidden' && reporter.trackKept();
  const onPagehide = () => reporter.trackKept();
  scope.addEventListener('visibilitychange', onVisibilityChange);
  scope.addEventListener('pagehide', onPagehide, true);
  return () => {
    scope.removeEventListener('visibilitychange', onVisibilityChange);
    scope.removeEventListener('pagehide', onPagehide, true);
  };
}
