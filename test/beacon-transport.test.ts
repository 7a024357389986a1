import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BEACON_SETTLE_MS, createBeaconTransport } from '../src/transport/beacon';
import { createKeepaliveBudget, HOMING_KEEPALIVE_BYTES, KEEPALIVE_BUDGET_BYTES } from '../src/transport/keepalive-budget';
import type { Transport } from '../src/transport/transport';
import { elapse, useFakeTime } from './support/time';

const ENDPOINT = 'https://collector.example/v1/batch';
const BODY = '{"batch":[],"sentAt":"2030-01-01T00:00:00.000Z"}';

/** Gives the runtime a navigator whose sendBeacon answers `accepts` (or throws what it is given). */
function stubSendBeacon(accepts: boolean | Error) {
  const sendBeacon = vi.fn<(url: string, data?: BodyInit | null) => boolean>(() => {
    if (accepts instanceof Error) throw accepts;
    return accepts;
  });
  vi.stubGlobal('navigator', { sendBeacon });
  return sendBeacon;
}

function beaconWith(budget = createKeepaliveBudget()): Transport {
  const transport = createBeaconTransport(ENDPOINT, budget);
  if (!transport) throw new Error('expected a beacon transport');
  return transport;
}

// The beacon frees its budget on a timer; fake time keeps that timer from outliving a test.
beforeEach(() => {
  useFakeTime();
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('beacon transport', () => {
  it('has 24 KiB of the 64 KiB keepalive budget by default, leaving 40 KiB to the host page', () => {
    expect(HOMING_KEEPALIVE_BYTES).toBe(24_576);
    expect(KEEPALIVE_BUDGET_BYTES - HOMING_KEEPALIVE_BYTES).toBe(40 * 1024);
    expect(createKeepaliveBudget().available).toBe(HOMING_KEEPALIVE_BYTES);
  });

  it('takes a whole budget-sized beacon, and nothing more beside it', async () => {
    stubSendBeacon(true);
    const beacon = beaconWith();

    expect(await beacon.send({ body: BODY, bytes: HOMING_KEEPALIVE_BYTES, keepalive: true })).toEqual({ kind: 'handed-off' });
    expect(await beacon.send({ body: BODY, bytes: 1, keepalive: true })).toEqual({ kind: 'unsent', cause: 'sendBeacon refused' });
  });

  it('does not exist where the runtime has no sendBeacon', () => {
    vi.stubGlobal('navigator', {});

    expect(createBeaconTransport(ENDPOINT, createKeepaliveBudget())).toBeUndefined();
  });

  it('sends the body as a string, which the browser sends as text/plain: no CORS preflight', async () => {
    const sendBeacon = stubSendBeacon(true);

    await beaconWith().send({ body: BODY, bytes: BODY.length, keepalive: true });

    expect(sendBeacon).toHaveBeenCalledWith(ENDPOINT, BODY);
    expect(typeof sendBeacon.mock.calls[0]![1]).toBe('string');
  });

  it('answers handed-off when the browser queued the beacon', async () => {
    stubSendBeacon(true);

    expect(await beaconWith().send({ body: BODY, bytes: BODY.length, keepalive: true })).toEqual({ kind: 'handed-off' });
  });

  it('answers unsent, and frees its bytes, when the browser refuses the beacon', async () => {
    stubSendBeacon(false);
    const budget = createKeepaliveBudget();

    expect(await beaconWith(budget).send({ body: BODY, bytes: 1_000, keepalive: true })).toEqual({ kind: 'unsent', cause: 'sendBeacon refused' });
    expect(budget.available).toBe(HOMING_KEEPALIVE_BYTES);
  });

  it('answers unsent, and frees its bytes, when sendBeacon throws', async () => {
    const error = new TypeError('Illegal invocation');
    stubSendBeacon(error);
    const budget = createKeepaliveBudget();

    expect(await beaconWith(budget).send({ body: BODY, bytes: 1_000, keepalive: true })).toEqual({ kind: 'unsent', cause: 'sendBeacon refused' });
    expect(budget.available).toBe(HOMING_KEEPALIVE_BYTES);
  });

  it('holds its bytes in the shared budget until the beacon has had time to leave', async () => {
    stubSendBeacon(true);
    const budget = createKeepaliveBudget();

    await beaconWith(budget).send({ body: BODY, bytes: 20_000, keepalive: true });
    expect(budget.available).toBe(HOMING_KEEPALIVE_BYTES - 20_000);

    await elapse(BEACON_SETTLE_MS);
    expect(budget.available).toBe(HOMING_KEEPALIVE_BYTES);
  });

  it('answers unsent, without calling sendBeacon, when the body does not fit in what is left of the budget', async () => {
    const sendBeacon = stubSendBeacon(true);
    const budget = createKeepaliveBudget();
    expect(budget.reserve(HOMING_KEEPALIVE_BYTES - 10_000)).toBe(true);

    expect(await beaconWith(budget).send({ body: BODY, bytes: 20_000, keepalive: true })).toEqual({ kind: 'unsent', cause: 'sendBeacon refused' });
    expect(sendBeacon).not.toHaveBeenCalled();
    expect(budget.available).toBe(10_000);
  });
});
