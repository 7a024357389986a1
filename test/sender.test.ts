import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCircuit } from '../src/delivery/backoff';
import type { Decision } from '../src/delivery/decide';
import { createEnvelope } from '../src/delivery/envelope';
import { createSender, FIRST_BATCH_DELAY_MS, type SenderOptions } from '../src/delivery/sender';
import { createQueue, type QueueMirror } from '../src/queue/queue';
import type { StoredEvent } from '../src/store/event-store';
import { createKeepaliveBudget } from '../src/transport/keepalive-budget';
import type { SendResult, Transport } from '../src/transport/transport';
import { storedEventNumbered } from './support/events';
import { answersInTurn, createRecordingTransport, DELIVERED, type Answer } from './support/recording-transport';
import { elapse, mortalClock, settle, useFakeTime } from './support/time';
import { numbered } from './support/tracker-harness';

const BATCH_SIZE = 10;
const FLUSH_INTERVAL_MS = 5_000;
const TIMEOUT_MS = 10_000;
/** With a random source of 0.5, the first backoff is half of BACKOFF_BASE_MS. */
const FIRST_BACKOFF_MS = 500;
const RETRY: SendResult = { kind: 'retry', status: 503 };

const noMirror: QueueMirror = { put: () => {}, remove: () => {} };

/** Answers each request when the test says so, in the order they came. */
function answersWhenTold() {
  const pending: Array<(result: SendResult) => void> = [];
  const answer: Answer = () => new Promise<SendResult>((resolve) => pending.push(resolve));
  return { answer, pending, answerNext: (result: SendResult = DELIVERED) => pending.shift()!(result) };
}

/** A sender on a real queue, a recording transport (unless given one), a fake clock and a circuit whose jitter is 0.5. */
function senderWith({ answer, transport, ...overrides }: Partial<SenderOptions> & { answer?: Answer } = {}) {
  const recording = createRecordingTransport(answer);
  const queue = createQueue(1_000, noMirror);
  const decided: Array<{ batch: StoredEvent[]; decision: Decision; result: SendResult }> = [];
  const sent: Array<{ batch: StoredEvent[]; bytes: number }> = [];
  const options: SenderOptions = {
    queue,
    transport: transport ?? recording.transport,
    envelope: createEnvelope(undefined),
    circuit: createCircuit(() => 0.5),
    budget: createKeepaliveBudget(),
    clock: mortalClock().clock,
    batchSize: BATCH_SIZE,
    maxBatchBytes: 61_440,
    maxAttempts: 20,
    flushInterval: FLUSH_INTERVAL_MS,
    timeoutMs: TIMEOUT_MS,
    mayAttempt: () => true,
    hidden: () => false,
    ready: () => Promise.resolve(),
    sent: (batch, bytes) => sent.push({ batch, bytes }),
    decided: (batch, decision, result) => decided.push({ batch, decision, result }),
    ...overrides,
  };
  const sender = createSender(options);
  let next = 1;
  /** Queues `count` more numbered events, as a burst does, and tells the sender. */
  const track = (count: number) => {
    queue.push(Array.from({ length: count }, () => storedEventNumbered(next++)));
    sender.schedule();
  };
  return { sender, queue, circuit: options.circuit, track, decided, sent, ...recording };
}

beforeEach(() => {
  useFakeTime();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('when the sender sends', () => {
  it('sends a full batch right after the task that filled it, without waiting for a timer', async () => {
    const { track, batches } = senderWith();

    track(BATCH_SIZE);
    expect(batches()).toEqual([]);
    await settle();

    expect(batches()).toEqual([numbered(1, BATCH_SIZE)]);
  });

  it("waits at most FIRST_BATCH_DELAY_MS (1 s) for the page's first partial batch", async () => {
    const { track, batches } = senderWith();

    track(3);
    await elapse(FIRST_BATCH_DELAY_MS - 1);
    expect(batches()).toEqual([]);
    await elapse(1);

    expect(FIRST_BATCH_DELAY_MS).toBe(1_000);
    expect(batches()).toEqual([numbered(1, 3)]);
  });

  it('waits flushInterval for a partial batch once the page has sent one', async () => {
    const { track, batches } = senderWith();
    track(BATCH_SIZE);
    await settle();

    track(3);
    await elapse(FLUSH_INTERVAL_MS - 1);
    expect(batches()).toHaveLength(1);
    await elapse(1);

    expect(batches()).toEqual([numbered(1, BATCH_SIZE), numbered(BATCH_SIZE + 1, BATCH_SIZE + 3)]);
  });

  it('waits flushInterval for the first partial batch when flushInterval is shorter than a second', async () => {
    const { track, batches } = senderWith({ flushInterval: 200 });

    track(1);
    await elapse(200);

    expect(batches()).toEqual([['e1']]);
  });

  it('sends nothing, and sets no timer, when nothing waits', async () => {
    const { sender, requests } = senderWith();

    sender.schedule();
    await sender.flush();

    expect(requests).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends nothing while it may not (offline, no consent)', async () => {
    let online = false;
    const { sender, track, batches } = senderWith({ mayAttempt: () => online });
    track(BATCH_SIZE);
    await settle();
    expect(batches()).toEqual([]);

    online = true;
    await sender.flush();

    expect(batches()).toEqual([numbered(1, BATCH_SIZE)]);
  });

  it('waits for `ready` (the tab owns its queue) before its first request', async () => {
    let owned = () => {};
    const ready = new Promise<void>((resolve) => (owned = resolve));
    const { sender, track, batches } = senderWith({ ready: () => ready });
    track(3);

    const flushing = sender.flush();
    await settle();
    expect(batches()).toEqual([]);
    owned();
    await flushing;

    expect(batches()).toEqual([numbered(1, 3)]);
  });
});

describe('the send loop', () => {
  it('has one request at a time in flight, the oldest events first', async () => {
    const { answer, pending, answerNext } = answersWhenTold();
    const { sender, track, batches } = senderWith({ answer });
    track(BATCH_SIZE * 3);

    const flushing = sender.flush();
    void sender.flush();
    await settle();
    expect(batches()).toEqual([numbered(1, 10)]);
    expect(sender.inFlight).toBe(1);
    answerNext();
    await settle();
    expect(batches()).toEqual([numbered(1, 10), numbered(11, 20)]);
    expect(pending).toHaveLength(1);
    answerNext();
    await settle();
    answerNext();
    await flushing;

    expect(batches()).toEqual([numbered(1, 10), numbered(11, 20), numbered(21, 30)]);
    expect(sender.inFlight).toBe(0);
  });

  it('sends within maxBatchBytes, the envelope included', async () => {
    const { sender, track, requests } = senderWith({ maxBatchBytes: 1_024 });
    track(BATCH_SIZE);

    await sender.flush();

    expect(requests.length).toBeGreaterThan(1);
    for (const request of requests) expect(request.bytes).toBeLessThanOrEqual(1_024);
    expect(requests.flatMap((request) => request.names)).toEqual(numbered(1, BATCH_SIZE));
  });

  it('counts each body in the bytes it reports, exactly', async () => {
    const { sender, track, requests, sent } = senderWith();
    track(3);

    await sender.flush();

    expect(sent.map(({ bytes }) => bytes)).toEqual([Buffer.byteLength(requests[0]!.body)]);
  });
});

describe('after a failure', () => {
  it('opens the circuit, and sends a single-event probe once the backoff is over', async () => {
    const { sender, circuit, track, batches } = senderWith({ answer: answersInTurn(RETRY) });
    track(5);

    await sender.flush();
    expect(batches()).toEqual([numbered(1, 5)]);
    expect(circuit.failures).toBe(1);
    await elapse(FIRST_BACKOFF_MS - 1);
    expect(batches()).toHaveLength(1);
    await elapse(1);

    expect(batches().slice(0, 2)).toEqual([numbered(1, 5), ['e1']]);
  });

  it('closes the circuit when the probe is delivered, and sends whole batches again', async () => {
    const { sender, circuit, track, batches } = senderWith({ answer: answersInTurn(RETRY) });
    track(5);
    await sender.flush();

    await elapse(FIRST_BACKOFF_MS);

    expect(batches()).toEqual([numbered(1, 5), ['e1'], numbered(2, 5)]);
    expect(circuit.failures).toBe(0);
  });

  it('sends nothing before the backoff is over, even when flushed', async () => {
    const { sender, track, batches } = senderWith({ answer: answersInTurn(RETRY) });
    track(5);
    await sender.flush();

    await sender.flush();
    track(BATCH_SIZE);
    await settle();

    expect(batches()).toEqual([numbered(1, 5)]);
  });

  it('puts the failed batch back in front, counting an attempt on each event', async () => {
    const { sender, queue, track } = senderWith({ answer: answersInTurn(RETRY) });
    track(3);

    await sender.flush();

    expect(queue.waiting.map((event) => [event.id, event.attempts])).toEqual([
      ['e1', 1],
      ['e2', 1],
      ['e3', 1],
    ]);
  });

  it('times out a transport that never answers after timeoutMs, and counts a failed attempt', async () => {
    const { sender, queue, circuit, track, decided } = senderWith({ answer: () => new Promise<SendResult>(() => {}) });
    track(2);
    const flushing = sender.flush();

    await elapse(TIMEOUT_MS - 1);
    expect(decided).toEqual([]);
    await elapse(1);
    await flushing;

    expect(decided).toHaveLength(1);
    expect(decided[0]!.result).toMatchObject({ kind: 'retry', cause: expect.objectContaining({ message: expect.stringMatching(/10000 ms/) }) });
    expect(circuit.failures).toBe(1);
    expect(queue.waiting.map((event) => event.attempts)).toEqual([1, 1]);
  });

  it('fails only the attempt in which a transport throws synchronously', async () => {
    let calls = 0;
    const transport: Transport = {
      send() {
        if (++calls === 1) throw new TypeError('a custom transport broke');
        return Promise.resolve(DELIVERED);
      },
    };
    const { sender, queue, circuit, track, decided } = senderWith({ transport });
    track(2);

    await sender.flush();
    expect(decided[0]!.result).toMatchObject({ kind: 'retry', cause: expect.any(TypeError) });
    expect(circuit.failures).toBe(1);
    await elapse(FIRST_BACKOFF_MS);
    await sender.flush();

    expect(calls).toBe(3);
    expect(queue.size).toBe(0);
    expect(circuit.failures).toBe(0);
  });

  it('keeps later bodies under half the size a 413 refused', async () => {
    const { sender, track, requests } = senderWith({ answer: answersInTurn({ kind: 'too-large', status: 413 }) });
    track(BATCH_SIZE);

    await sender.flush();

    const [refused, ...after] = requests;
    expect(after.length).toBeGreaterThan(1);
    for (const request of after) expect(request.bytes).toBeLessThanOrEqual(refused!.bytes / 2);
    expect(after.flatMap((request) => request.names)).toEqual(numbered(1, BATCH_SIZE));
    expect(sender.room()).toBeLessThan(refused!.bytes / 2);
  });
});

describe('a batch handed off while in flight', () => {
  it('goes in a plain request while the page is visible: back-to-back keepalive requests are refused by Chromium', async () => {
    const { sender, track, requests } = senderWith();
    track(3);

    await sender.flush();

    expect(requests[0]!.keepalive).toBe(false);
    expect(sender.keptAlive.size).toBe(0);
  });

  it('is kept alive while the page is hidden and it is in flight in a keepalive request, and no longer once answered', async () => {
    const { answer, answerNext } = answersWhenTold();
    const { sender, track, requests } = senderWith({ answer, hidden: () => true });
    track(3);

    const flushing = sender.flush();
    await settle();
    expect(requests[0]!.keepalive).toBe(true);
    expect([...sender.keptAlive].map((batch) => batch.map((event) => event.id))).toEqual([numbered(1, 3)]);
    answerNext();
    await flushing;

    expect(sender.keptAlive.size).toBe(0);
  });

  it('has its late answer ignored once the page handed it off (deleted it from keptAlive)', async () => {
    const { answer, answerNext } = answersWhenTold();
    const { sender, queue, circuit, track, decided } = senderWith({ answer, hidden: () => true });
    track(3);
    const flushing = sender.flush();
    await settle();

    const [batch] = [...sender.keptAlive];
    sender.keptAlive.delete(batch!);
    queue.settle(batch!);
    answerNext(RETRY);
    await flushing;

    expect(decided).toEqual([]);
    expect(circuit.failures).toBe(0);
    expect(queue.size).toBe(0);
  });

  it('sends a body that does not fit the keepalive budget as a plain request, even while hidden', async () => {
    const { sender, track, requests } = senderWith({ budget: createKeepaliveBudget(500), hidden: () => true });
    track(3);

    await sender.flush();

    expect(requests[0]!.keepalive).toBe(false);
    expect(sender.keptAlive.size).toBe(0);
  });
});
