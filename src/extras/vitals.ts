/**
 * `homing/vitals`: the page's Core Web Vitals and their companions (LCP, INP, CLS, FCP, TTFB),
 * measured by Google's `web-vitals` package, the reference implementation, bundled into this
 * entry point only. Each metric is tracked once per page as a 'Web Vital' event
 * `{ name, value, rating, id, navigationType, source: 'vitals' }`, when `web-vitals` reports its
 * final value: TTFB and FCP as soon as they are known, LCP at the first interaction or when the
 * page is hidden, CLS and INP when the page is hidden. A page restored from the back/forward cache
 * is a new page to `web-vitals`: its metrics come again, with new ids.
 */
import { onCLS, onFCP, onINP, onLCP, onTTFB, type Metric } from 'web-vitals';
import type { Tracker } from '../index';

/** The one method of a tracker this extra needs. */
export type VitalsTracker = Pick<Tracker, 'track'>;

/** The properties of one 'Web Vital' event (a type, not an interface: track() takes a record). */
export type WebVitalProperties = {
  name: Metric['name'];
  /** Milliseconds, except CLS: a unitless score. */
  value: number;
  rating: Metric['rating'];
  /** Unique per metric and page load: collectors dedupe or group on it. */
  id: string;
  navigationType: Metric['navigationType'];
  source: 'vitals';
};

/** The metric as it goes on the wire: the performance entries behind it stay in the page. */
export function webVitalProperties(metric: Metric): WebVitalProperties {
  const { name, value, rating, id, navigationType } = metric;
  return { name, value, rating, id, navigationType, source: 'vitals' };
}

/**
 * Starts reporting web vitals into `tracker`; returns the function that stops it. `web-vitals`
 * cannot take its observers back: after stop() they run on but track nothing.
 */
export function vitals(tracker: VitalsTracker): () => void {
  if (typeof globalThis.document === 'undefined' || typeof PerformanceObserver === 'undefined') return () => {};
  let active = true;
  const report = (metric: Metric) => {
    if (active) tracker.track('Web Vital', webVitalProperties(metric));
  };
  for (const observe of [onTTFB, onFCP, onLCP, onINP, onCLS]) observe(report);
  return () => {
    active = false;
  };
}
