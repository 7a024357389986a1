import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCircuit } from '../src/delivery/backoff';
import { createEnvelope } from '../src/delivery/envelope';
import { handOff, startedIsHandedOff, type HandOffOptions } from '../src/delivery/hand-off';
import { createSender } from '../src/delivery/sender';
import { createQueue, type QueueMirror } from '../src/queue/queue';
import type { StoredEvent } from '../src/store/event-store';
import { createBeacon, type ExitSend } from '../src/transport/beacon';
import { createFetchTransport } from '../src/transport/fetch';
import { createKeepaliveBudget, type KeepaliveBudget } from '../src/transport/keepalive-budget';
import type { SendResult, Transport } from '../src/transport/transport';
import { idsOf, storedEventNumbered } from './support/events';
import { createRecordingTransport, neverAnswers, type Answer } from './support/recording-transport';
import { mortalClock, settle, useFakeTime } from './support/time';
import { numbered } from './support/tracker-harness';

const BATCH_SIZE = 10;
/** storedEventNumbered(n) is 185 bytes for one-digit n, 187 for two. */
const EVENT_BYTES = 187;

const noMirror: QueueMirror = { put: () => {}, remove: () => {} };

/** A page about to go away: its queue, its sender (live requests never answer), and what the hand-off reports. */
function leavingPage({ budget = createKeepaliveBudget(), trusted = true, exit }: { budget?: KeepaliveBudget; trusted?: boolean; exit?: ExitSend } = {}) {
  const queue = createQueue(1_000, noMirror);
  const clock = mortalClock().clock;
  const envelope = createEnvelope(undefined);
  const live = createRecordingTransport(neverAnswers);
  const sender = createSender({
    queue,
    transport: live.transport,
    envelope,
    circuit: createCircuit(() => 0.5),
    budget,
    clock,
    batchSize: BATCH_SIZE,
    maxBatchBytes: 61_440,
    maxAttempts: 20,
    flushInterval: 5_000,
    timeoutMs: 10_000,
    mayAttempt: () => true,
    // The page is hiding: what the sender sends goes in keepalive requests.
    hidden: () => true,
    ready: () => Promise.resolve(),
    sent: () => {},
    decided: () => {},
  });
  const sent: Array<{ ids: string[]; bytes: number }> = [];
  const handedOff: string[][] = [];
  let next = 1;
  const options = (): HandOffOptions => ({
    queue,
    sender,
    envelope,
    exit: exit ?? startedIsHandedOff(createRecordingTransport(() => ({ kind: 'handed-off' })).transport),
    budget,
    clock,
    batchSize: BATCH_SIZE,
    trusted: () => trusted,
    sent: (batch, bytes) => sent.push({ ids: idsOf(batch), bytes }),
    handedOff: (events) => handedOff.push(idsOf(events)),
  });
  return {
    queue,
    sender,
    live,
    sent,
    handedOff,
    track: (count: number) => queue.push(Array.from({ length: count }, () => storedEventNumbered(next++))),
    leave: (exitSend?: ExitSend) => handOff({ ...options(), ...(exitSend && { exit: exitSend }) }),
  };
}

/** sendBeacon as a browser has it, taking bodies while `accepts` says so, recording what it took. */
function stubSendBeacon(accepts: (call: number) => boolean = () => true) {
  const beacons: string[] = [];
  let calls = 0;
  vi.stubGlobal('navigator', { sendBeacon: (_url: string, body: string) => accepts(++calls) && beacons.push(body) > 0 });
  return { beacons, names: () => beacons.map((body) => (JSON.parse(body).batch as Array<{ event: string }>).map((event) => event.event)) };
}

beforeEach(() => {
  useFakeTime();
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('the hand-off at page exit', () => {
  it('hands nothing off when it is not trusted to arrive: everything stays queued for a live tab or the next visit', async () => {
    const exit = createRecordingTransport(() => ({ kind: 'handed-off' }));
    const page = leavingPage({ trusted: false });
    page.track(5);

    const carried = page.leave(startedIsHandedOff(exit.transport));

    expect(carried).toEqual([]);
    expect(exit.requests).toEqual([]);
    expect(idsOf([...page.queue.waiting])).toEqual(numbered(1, 5));
    expect(page.handedOff).toEqual([]);
  });

  it('carries the batches in flight in keepalive requests: the browser has them, answer or not', async () => {
    const page = leavingPage();
    page.track(3);
    void page.sender.flush();
    await settle();
    expect(page.sender.keptAlive.size).toBe(1);

    const carried = page.leave();

    expect(idsOf(carried)).toEqual(numbered(1, 3));
    expect(page.handedOff).toEqual([numbered(1, 3)]);
    expect(page.sender.keptAlive.size).toBe(0);
    expect(page.queue.size).toBe(0);
  });

  it('sends what waits in batches of at most batchSize, oldest first, and counts each as handed off', async () => {
    const { names } = stubSendBeacon();
    const budget = createKeepaliveBudget();
    const page = leavingPage({ budget });
    page.track(25);

    const carried = page.leave(createBeacon('/collect', budget));

    expect(names()).toEqual([numbered(1, 10), numbered(11, 20), numbered(21, 25)]);
    expect(idsOf(carried)).toEqual(numbered(1, 25));
    expect(page.handedOff).toEqual([numbered(1, 10), numbered(11, 20), numbered(21, 25)]);
    expect(page.sent.map(({ ids }) => ids)).toEqual(page.handedOff);
    expect(page.queue.size).toBe(0);
  });

  it('keeps every beacon within what is left of the keepalive budget, and what does not fit stays queued', async () => {
    const { beacons } = stubSendBeacon();
    const budget = createKeepaliveBudget(5 * EVENT_BYTES + 200);
    const page = leavingPage({ budget });
    page.track(20);

    const carried = page.leave(createBeacon('/collect', budget));

    const beaconBytes = beacons.map((body) => Buffer.byteLength(body));
    expect(beaconBytes.reduce((sum, bytes) => sum + bytes, 0)).toBeLessThanOrEqual(5 * EVENT_BYTES + 200);
    expect(carried.length).toBeGreaterThan(0);
    expect(carried.length).toBeLessThan(20);
    expect(idsOf([...carried, ...page.queue.waiting])).toEqual(numbered(1, 20));
  });

  it('stops at a beacon the browser refuses, and puts its batch back in front of the queue, attempts untouched', async () => {
    const { names } = stubSendBeacon((call) => call === 1);
    const budget = createKeepaliveBudget();
    const page = leavingPage({ budget });
    page.track(25);

    const carried = page.leave(createBeacon('/collect', budget));

    expect(names()).toEqual([numbered(1, 10)]);
    expect(idsOf(carried)).toEqual(numbered(1, 10));
    expect(page.queue.waiting.map((event) => [event.id, event.attempts])).toEqual(numbered(11, 25).map((id) => [id, 0]));
    expect(budget.available).toBeGreaterThan(0);
  });

  it('stops at an exit transport that throws, and keeps its batch', async () => {
    const throwing: Transport = {
      send: () => {
        throw new TypeError('Illegal invocation');
      },
    };
    const page = leavingPage();
    page.track(3);

    const carried = page.leave(startedIsHandedOff(throwing));

    expect(carried).toEqual([]);
    expect(idsOf([...page.queue.waiting])).toEqual(numbered(1, 3));
  });

  it('counts a batch a custom exit transport started as handed off, whatever it answers later', async () => {
    const page = leavingPage();
    page.track(3);

    const carried = page.leave(startedIsHandedOff(createRecordingTransport((): SendResult => ({ kind: 'retry', status: 503 })).transport));

    expect(idsOf(carried)).toEqual(numbered(1, 3));
  });

  it('marks each request it makes as outliving the page', async () => {
    const exit = createRecordingTransport(() => ({ kind: 'handed-off' }));
    const page = leavingPage();
    page.track(3);

    page.leave(startedIsHandedOff(exit.transport));

    expect(exit.requests.map(({ keepalive, exit: leaving }) => ({ keepalive, exit: leaving }))).toEqual([{ keepalive: true, exit: true }]);
  });
});

describe('a keepalive fetch at page exit (startedIsHandedOff)', () => {
  const fetchLike = (answer: Answer = () => ({ kind: 'delivered', status: 200 })) => createRecordingTransport(answer);

  it('is handed off the moment it starts, without waiting for its answer', async () => {
    const fetch = fetchLike(neverAnswers);
    const exit = startedIsHandedOff(fetch.transport, createKeepaliveBudget());

    const taken = exit({ body: '{"batch":[],"sentAt":""}', bytes: 24, keepalive: true, exit: true });

    expect(taken).toBe(true);
    expect(fetch.requests).toHaveLength(1);
  });

  it('is unsent, and never started, when its body does not fit what is left of the budget', async () => {
    const fetch = fetchLike();
    const budget = createKeepaliveBudget(1_000);
    budget.reserve(990);

    const taken = startedIsHandedOff(fetch.transport, budget)({ body: '{"batch":[],"sentAt":""}', bytes: 24, keepalive: true, exit: true });

    expect(taken).toBe(false);
    expect(fetch.requests).toEqual([]);
  });

  it('is answered handed off even when the fetch then fails', async () => {
    const budget = createKeepaliveBudget();
    const failing = createFetchTransport({ url: '/collect', fetch: () => Promise.reject(new TypeError('Failed to fetch')), headers: {}, budget, timeoutMs: 10_000, now: Date.now });

    const taken = startedIsHandedOff(failing, budget)({ body: '{"batch":[],"sentAt":""}', bytes: 24, keepalive: true, exit: true });
    await settle();

    expect(taken).toBe(true);
  });
});
