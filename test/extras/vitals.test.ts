import { describe, expect, it } from 'vitest';
import type { Metric } from 'web-vitals';
import { createVitalsReporter, vitals, webVitalProperties } from '../../src/extras/vitals';

function metric(name: Metric['name'], value: number, id = `v6-${name}`): Metric {
  return { name, value, rating: 'good', delta: value, id, entries: [], navigationType: 'navigate', navigationId: 1 };
}

function recordingTracker() {
  const tracked: Array<[string, Record<string, unknown> | undefined]> = [];
  return { tracked, track: (event: string, properties?: Record<string, unknown>) => void tracked.push([event, properties]) };
}

describe('web vitals', () => {
  it('puts a metric on the wire as its name, value, rating, id and navigation type, without its performance entries', () => {
    const lcp = { ...metric('LCP', 1234.5), entries: [{ name: 'hero.jpg' } as PerformanceEntry] };
    expect(webVitalProperties(lcp)).toEqual({ name: 'LCP', value: 1234.5, rating: 'good', id: 'v6-LCP', navigationType: 'navigate', source: 'vitals' });
  });

  it('tracks nothing until the page is hidden, then each metric once with its latest value', () => {
    const tracker = recordingTracker();
    const reporter = createVitalsReporter(tracker);
    reporter.update(metric('TTFB', 80));
    reporter.update(metric('INP', 40));
    reporter.update(metric('INP', 120));
    expect(tracker.tracked).toEqual([]);
    reporter.trackKept();
    expect(tracker.tracked.map(([event, properties]) => [event, properties?.name, properties?.value])).toEqual([
      ['Web Vital', 'TTFB', 80],
      ['Web Vital', 'INP', 120],
    ]);
  });

  it('ignores later values of a metric already tracked, and tracks a metric first seen after a hide at the next one', () => {
    const tracker = recordingTracker();
    const reporter = createVitalsReporter(tracker);
    reporter.update(metric('CLS', 0.05));
    reporter.trackKept();
    reporter.update(metric('CLS', 0.3));
    reporter.update(metric('LCP', 900));
    reporter.trackKept();
    reporter.trackKept();
    expect(tracker.tracked.map(([, properties]) => [properties?.name, properties?.value])).toEqual([
      ['CLS', 0.05],
      ['LCP', 900],
    ]);
  });

  it('tracks the metrics of a page restored from the back/forward cache: new ids, new events', () => {
    const tracker = recordingTracker();
    const reporter = createVitalsReporter(tracker);
    reporter.update(metric('FCP', 300, 'v6-first'));
    reporter.trackKept();
    reporter.update({ ...metric('FCP', 20, 'v6-restored'), navigationType: 'back-forward-cache' });
    reporter.trackKept();
    expect(tracker.tracked.map(([, properties]) => [properties?.id, properties?.navigationType])).toEqual([
      ['v6-first', 'navigate'],
      ['v6-restored', 'back-forward-cache'],
    ]);
  });

  it('does nothing, and does not throw, where there is no page to measure', () => {
    const tracker = recordingTracker();
    const stop = vitals(tracker);
    stop();
    expect(tracker.tracked).toEqual([]);
  });
});
