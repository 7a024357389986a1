import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTrust, DISTRUST_AFTER_FAILURE_MS } from '../src/delivery/trust';
import { createLocalStorageStub } from './support/local-storage-stub';

const START = Date.UTC(2030, 0, 1);
const KEY = 'homing';

/** A clock the test moves by hand. */
function handClock(at = START) {
  let now = at;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

let localStorage: Storage;

beforeEach(() => {
  localStorage = createLocalStorageStub();
  vi.stubGlobal('localStorage', localStorage);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('trust in a hand-off at page exit', () => {
  it('is given by default: nothing says the beacon will not arrive', () => {
    expect(createTrust(KEY, handClock().now, () => true).trusted()).toBe(true);
  });

  it('is withheld while the runtime is offline, and given again once it is online', () => {
    let online = false;
    const trust = createTrust(KEY, handClock().now, () => online);

    expect(trust.trusted()).toBe(false);
    online = true;
    expect(trust.trusted()).toBe(true);
  });

  it('is withheld for DISTRUST_AFTER_FAILURE_MS after a failed request', () => {
    const clock = handClock();
    const trust = createTrust(KEY, clock.now, () => true);

    trust.failed();
    expect(trust.trusted()).toBe(false);
    clock.advance(DISTRUST_AFTER_FAILURE_MS - 1);

    expect(trust.trusted()).toBe(false);
  });

  it('is given again once DISTRUST_AFTER_FAILURE_MS have passed without a failure', () => {
    const clock = handClock();
    const trust = createTrust(KEY, clock.now, () => true);
    trust.failed();

    clock.advance(DISTRUST_AFTER_FAILURE_MS);

    expect(trust.trusted()).toBe(true);
  });

  it('counts the window from the latest failure', () => {
    const clock = handClock();
    const trust = createTrust(KEY, clock.now, () => true);
    trust.failed();
    clock.advance(DISTRUST_AFTER_FAILURE_MS - 1_000);
    trust.failed();

    clock.advance(1_000);

    expect(trust.trusted()).toBe(false);
  });

  it('remembers a failure across page loads, in localStorage', () => {
    const clock = handClock();
    createTrust(KEY, clock.now, () => true).failed();
    clock.advance(60_000);

    const nextPageLoad = createTrust(KEY, clock.now, () => true);

    expect(localStorage.getItem(`${KEY}:failedAt`)).toBe(String(START));
    expect(nextPageLoad.trusted()).toBe(false);
  });

  it('hears of a failure another tab of the site had, while both live', () => {
    const clock = handClock();
    const thisTab = createTrust(KEY, clock.now, () => true);
    const otherTab = createTrust(KEY, clock.now, () => true);

    otherTab.failed();

    expect(thisTab.trusted()).toBe(false);
  });

  it('keeps the failures of trackers with another storageKey apart', () => {
    const clock = handClock();
    createTrust('other-site-tracker', clock.now, () => true).failed();

    expect(createTrust(KEY, clock.now, () => true).trusted()).toBe(true);
  });

  it("remembers this page's own failure where localStorage is blocked", () => {
    const blocked = createLocalStorageStub();
    blocked.getItem = () => {
      throw new DOMException('blocked', 'SecurityError');
    };
    blocked.setItem = blocked.getItem;
    vi.stubGlobal('localStorage', blocked);
    const trust = createTrust(KEY, handClock().now, () => true);

    expect(() => trust.failed()).not.toThrow();
    expect(trust.trusted()).toBe(false);
  });

  it('ignores a remembered failure time that is not a number', () => {
    localStorage.setItem(`${KEY}:failedAt`, 'yesterday');

    expect(createTrust(KEY, handClock().now, () => true).trusted()).toBe(true);
  });
});
