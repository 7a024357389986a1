// @vitest-environment happy-dom
// @vitest-environment-options {"url": "https://shop.example/start"}
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Tracker } from '../../src/index';
import { isOn, listAttribute, withTracker } from '../../src/extras/scripts/with-tracker';

type HomingGlobal = ((...args: unknown[]) => unknown) & { q?: ArrayLike<ArrayLike<unknown>>; tracker?: Tracker };
const scope = globalThis as unknown as { homing?: HomingGlobal };

/** Options for a tracker that sends nothing anywhere. */
const QUIET_OPTIONS = { endpoint: '/v1/batch', store: 'memory', transport: { send: async () => ({ kind: 'delivered' }) } };

/** Runs src/browser.ts as the IIFE bundle would run when its script tag loads. */
async function loadBundle(): Promise<HomingGlobal> {
  vi.resetModules();
  await import('../../src/browser');
  return scope.homing!;
}

beforeEach(() => {
  delete scope.homing;
});

afterEach(async () => {
  await scope.homing?.tracker?.shutdown();
  delete scope.homing;
});

describe('script-tag extras', () => {
  it('loaded before the bundle, leave a stub like the snippet, and start once the tracker exists', async () => {
    const started: Tracker[] = [];
    withTracker((tracker) => started.push(tracker));
    expect(Array.from(scope.homing!.q!)).toHaveLength(1);
    scope.homing!('init', QUIET_OPTIONS);
    expect(started).toHaveLength(0);

    const homing = await loadBundle();
    expect(started).toEqual([homing.tracker]);
    expect(typeof started[0]!.track).toBe('function');
  });

  it('loaded after the bundle and its init, start at once', async () => {
    const homing = await loadBundle();
    homing('init', QUIET_OPTIONS);
    const started: Tracker[] = [];
    withTracker((tracker) => started.push(tracker));
    expect(started).toEqual([homing.tracker]);
  });

  it('loaded after the bundle but before its init, wait for the init', async () => {
    const homing = await loadBundle();
    const started: Tracker[] = [];
    withTracker((tracker) => started.push(tracker));
    expect(started).toHaveLength(0);
    homing('init', QUIET_OPTIONS);
    expect(started).toEqual([homing.tracker]);
  });

  it('read their data- attributes: a list split on commas, a switch on unless "false"', () => {
    expect(listAttribute(' pdf, zip ,,')).toEqual(['pdf', 'zip']);
    expect(listAttribute('')).toBeUndefined();
    expect(listAttribute(undefined)).toBeUndefined();
    expect([isOn(''), isOn('hash'), isOn('false'), isOn(undefined)]).toEqual([true, true, false, false]);
  });
});
