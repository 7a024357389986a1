import { describe, expect, it } from 'vitest';
import type { Metric } from 'web-vitals';
import { vitals, webVitalProperties } from '../../src/extras/vitals';

describe('web vitals', () => {
  it('puts a metric on the wire as its name, value, rating, id and navigation type, without its performance entries', () => {
    const metric: Metric = {
      name: 'LCP',
      value: 1234.5,
      rating: 'good',
      delta: 1234.5,
      id: 'v5-1700000000000-123',
      entries: [{ name: 'hero.jpg' } as PerformanceEntry],
      navigationType: 'navigate',
      navigationId: 1,
    };
    expect(webVitalProperties(metric)).toEqual({
      name: 'LCP',
      value: 1234.5,
      rating: 'good',
      id: 'v5-1700000000000-123',
      navigationType: 'navigate',
      source: 'vitals',
    });
  });

  it('does nothing, and does not throw, where there is no page to measure', () => {
    const calls: unknown[] = [];
    const stop = vitals({ track: (...args) => void calls.push(args) });
    expect(typeof stop).toBe('function');
    stop();
    expect(calls).toEqual([]);
  });
});
