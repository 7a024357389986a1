import { afterEach, describe, expect, it, vi } from 'vitest';
import { uuidV4 } from '../src/capture/id';
import type { Plugin } from '../src/capture/plugins';
import { isSampledIn, sampling } from '../src/extras/sampling';
import { createLocalStorageStub } from './support/local-storage-stub';
import { shutDownTestTrackers, startTestTracker } from './support/tracker-harness';
import { useFakeTime } from './support/time';

afterEach(async () => {
  await shutDownTestTrackers();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('sampling', () => {
  it('decides per anonymous id: the same id always gets the same answer', () => {
    const id = uuidV4();
    const answers = new Set(Array.from({ length: 20 }, () => isSampledIn(id, 0.5)));
    expect(answers.size).toBe(1);
  });

  it('keeps about the share of users the rate asks for', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidV4());
    for (const rate of [0.1, 0.5, 0.9]) {
      const kept = ids.filter((id) => isSampledIn(id, rate)).length / ids.length;
      expect(kept).toBeGreaterThan(rate - 0.02);
      expect(kept).toBeLessThan(rate + 0.02);
    }
  });

  it('keeps everyone at 1 and no one at 0', () => {
    expect(isSampledIn('anyone', 1)).toBe(true);
    expect(isSampledIn('anyone', 0)).toBe(false);
  });

  it("keeps a sampled-in user's whole journey and counts a sampled-out user's events as filtered", async () => {
    useFakeTime();
    vi.stubGlobal('localStorage', createLocalStorageStub());
    const { tracker, requests } = await startTestTracker({ plugins: [sampling(0.5)] });
    for (let i = 0; i < 10; i++) tracker.track('Step', { i });
    await tracker.flush();

    const sent = requests.flatMap((request) => request.names).length;
    expect([0, 10]).toContain(sent);
    expect(tracker.stats()).toMatchObject({ filtered: 10 - sent, dropped: 0 });
  });

  it('decides by the anonymous id each event carries', async () => {
    useFakeTime();
    const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    const keptUser = users.find((id) => isSampledIn(id, 0.5))!;
    const leftOutUser = users.find((id) => !isSampledIn(id, 0.5))!;
    const actAs: Plugin = { name: 'act as', enrich: (event) => ({ ...event, anonymousId: String(event.properties?.user) }) };
    const { tracker, requests } = await startTestTracker({ plugins: [actAs, sampling(0.5)] });

    tracker.track('Kept', { user: keptUser });
    tracker.track('Left out', { user: leftOutUser });
    await tracker.flush();

    expect(requests.flatMap((request) => request.names)).toEqual(['Kept']);
    expect(tracker.stats()).toMatchObject({ filtered: 1, delivered: 1 });
  });

  it('sends nothing with sampling(0), and counts every event as filtered', async () => {
    useFakeTime();
    const { tracker, requests } = await startTestTracker({ plugins: [sampling(0)] });
    tracker.track('Step');
    await tracker.flush();

    expect(requests).toHaveLength(0);
    expect(tracker.stats()).toMatchObject({ filtered: 1, received: 0, dropped: 0 });
  });

  it('sends everything with sampling(1)', async () => {
    useFakeTime();
    const { tracker, requests } = await startTestTracker({ plugins: [sampling(1)] });
    tracker.track('Step');
    await tracker.flush();

    expect(requests.flatMap((request) => request.names)).toEqual(['Step']);
    expect(tracker.stats()).toMatchObject({ filtered: 0, delivered: 1 });
  });
});
