/**
 * Past one machine: two stateless collector processes in front of one NATS JetStream stream.
 * homing, in this process, sends to the two alternately, and a tenth of its requests are sent
 * again to the other process, as a retry behind a load balancer lands elsewhere. The stream, not
 * a collector's memory, must hold each event exactly once; when nats-server dies the collectors
 * must answer 503 with Retry-After, homing must wait as told, and nothing may be lost or doubled
 * once the server is back on the same store.
 *
 * Real processes throughout: `nats-server -js` (Debian's package, installed when missing) and
 * `node demo/server.mjs` with `COLLECTOR_SINKS=nats://...`, all on 127.0.0.1.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamSink } from '../demo/sinks/jetstream.mjs';
import { createTracker, type Tracker } from '../src/index';
import { startCollectorProcess, type CollectorProcess } from './support/collector-process';
import { freePort, NATS_INSTALL_TIMEOUT_MS, natsServerCommand, startNatsServer, type NatsServer } from './support/nats-server';

const EVENTS = 10_000;
/** Every this many requests is sent again to the other collector once answered: 10 %. */
const REPLAY_EVERY = 10;
/** Seconds in the collectors' 503 `Retry-After`: short, so the outage test ends quickly. */
const RETRY_AFTER_SECONDS = 1;
/** A publish without JetStream's ack by then fails, and the collector answers 503. */
const ACK_TIMEOUT = '2s';
/** The events delivered before nats-server is killed: the outage falls mid-run. */
const KILL_AFTER_DELIVERED = 3_000;
/** How long nats-server stays down: several Retry-After periods. */
const OUTAGE_MS = 3_000;
/** Every event in the stream by then, or the test fails; a healthy run takes a few seconds. */
const DELIVERY_TIMEOUT_MS = 30_000;
/** Timers fire a little late on a loaded machine; an early retry is what must not happen. */
const TIMER_SLACK_MS = 50;
const TEST_TIMEOUT_MS = 60_000;

interface Exchange {
  /** When homing's request started, and when its answer came (performance.now()). */
  startedAt: number;
  answeredAt: number;
  status: number;
  retryAfter: string | null;
}

let command: string;
let storeDir: string;
let natsPort: number;
let nats: NatsServer;
const collectors: CollectorProcess[] = [];
const trackers: Tracker[] = [];
let streamNumber = 0;

beforeAll(async () => {
  command = natsServerCommand();
  storeDir = await mkdtemp(join(tmpdir(), 'homing-jetstream-'));
  natsPort = await freePort();
  nats = await startNatsServer({ command, port: natsPort, storeDir });
}, NATS_INSTALL_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(trackers.splice(0).map((tracker) => tracker.shutdown()));
  await Promise.all(collectors.splice(0).map((collector) => collector.stop()));
});

afterAll(async () => {
  await nats?.kill();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

/** Two collector processes on a stream of their own, so each test counts only its events. */
async function startTwoCollectors(): Promise<{ stream: string; pair: [CollectorProcess, CollectorProcess] }> {
  const stream = `homing_test_${++streamNumber}`;
  const env = {
    COLLECTOR_SINKS: `nats://127.0.0.1:${natsPort}?stream=${stream}&subject=${stream}.events&ackTimeout=${ACK_TIMEOUT}`,
    COLLECTOR_RETRY_AFTER: String(RETRY_AFTER_SECONDS),
  };
  const pair = (await Promise.all([startCollectorProcess(env), startCollectorProcess(env)])) as [CollectorProcess, CollectorProcess];
  collectors.push(...pair);
  await Promise.all(pair.map((collector) => waitUntilHealthy(collector)));
  return { stream, pair };
}

async function waitUntilHealthy(collector: CollectorProcess) {
  await expect
    .poll(async () => (await fetch(`${collector.url}health`)).status, { timeout: 10_000, interval: 50 })
    .toBe(200);
}

/**
 * homing's `fetch`: request n goes to collector n % 2; once answered, every REPLAY_EVERY-th is
 * sent again, unchanged, to the other collector. Records what homing saw and every messageId sent.
 */
function alternatingFetch(pair: [CollectorProcess, CollectorProcess]) {
  const exchanges: Exchange[] = [];
  const sentIds = new Set<string>();
  const replays: Promise<number>[] = [];
  let requests = 0;
  const fetchBoth: typeof fetch = async (_input, init) => {
    const index = requests++;
    const body = String(init?.body);
    for (const event of JSON.parse(body).batch) sentIds.add(event.messageId);
    const startedAt = performance.now();
    const response = await fetch(pair[index % 2]!.batchUrl, init);
    exchanges.push({ startedAt, answeredAt: performance.now(), status: response.status, retryAfter: response.headers.get('Retry-After') });
    if (index % REPLAY_EVERY === REPLAY_EVERY - 1) {
      const replay = fetch(pair[(index + 1) % 2]!.batchUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      replays.push(replay.then(async (answer) => (await answer.arrayBuffer(), answer.status), () => 0));
    }
    return response;
  };
  return { fetch: fetchBoth, exchanges, sentIds, replays };
}

function startTracker(fetchBoth: typeof fetch): Tracker {
  const tracker = createTracker({
    endpoint: 'http://collectors.invalid/v1/batch',
    store: 'memory',
    transport: 'fetch',
    fetch: fetchBoth,
    maxQueueSize: EVENTS,
    flushInterval: 10,
    maxAttempts: 1_000,
    timeout: 10_000,
    // No jitter: the wait after a 503 is the collector's Retry-After, exactly.
    random: () => 0,
  });
  trackers.push(tracker);
  return tracker;
}

function trackAll(tracker: Tracker) {
  for (let i = 0; i < EVENTS; i++) tracker.track('Load Tested', { index: i });
}

async function waitUntilDelivered(tracker: Tracker, count: number) {
  await expect.poll(() => tracker.stats().delivered, { timeout: DELIVERY_TIMEOUT_MS, interval: 50 }).toBeGreaterThanOrEqual(count);
}

/** Every message in the stream: its `Nats-Msg-Id` header, checked against the messageId in its body. */
async function readStream(stream: string): Promise<{ count: number; ids: string[] }> {
  const nc = await connect({ servers: `127.0.0.1:${natsPort}` });
  try {
    const count = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    const consumer = await jetstream(nc).consumers.get(stream);
    const ids: string[] = [];
    const deadline = performance.now() + 20_000;
    while (ids.length < count && performance.now() < deadline) {
      const messages = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
      for await (const message of messages) {
        const header = message.headers?.get('Nats-Msg-Id') ?? '';
        expect(JSON.parse(message.string()).messageId).toBe(header);
        ids.push(header);
      }
    }
    return { count, ids };
  } finally {
    await nc.close();
  }
}

/** The stream holds each sent messageId once: no more, no fewer. */
function expectExactlyOnce(stored: { count: number; ids: string[] }, sentIds: Set<string>) {
  const unique = new Set(stored.ids);
  const missing = [...sentIds].filter((id) => !unique.has(id)).length;
  const twice = stored.ids.length - unique.size;
  expect({ messages: stored.count, read: stored.ids.length, missing, twice }).toEqual({
    messages: EVENTS,
    read: EVENTS,
    missing: 0,
    twice: 0,
  });
  expect(unique).toEqual(sentIds);
}

describe('two collector processes on one JetStream stream', () => {
  it(
    'stores 10,000 events exactly once though a tenth of the requests are replayed to the other process',
    async () => {
      const { stream, pair } = await startTwoCollectors();
      const client = alternatingFetch(pair);
      const tracker = startTracker(client.fetch);

      trackAll(tracker);
      await waitUntilDelivered(tracker, EVENTS);
      const replayStatuses = await Promise.all(client.replays);

      expect(client.sentIds.size).toBe(EVENTS);
      expect(tracker.stats()).toMatchObject({ delivered: EVENTS, dropped: 0 });
      // The replays were accepted by the other process, which had never seen them: JetStream dropped them.
      expect(replayStatuses.length).toBeGreaterThanOrEqual(Math.floor(EVENTS / 50 / REPLAY_EVERY));
      expect(replayStatuses.every((status) => status === 200)).toBe(true);
      expectExactlyOnce(await readStream(stream), client.sentIds);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers 503 with Retry-After while nats-server is down, is waited for as told, and loses and doubles nothing once it is back',
    async () => {
      const { stream, pair } = await startTwoCollectors();
      const client = alternatingFetch(pair);
      const tracker = startTracker(client.fetch);

      trackAll(tracker);
      await waitUntilDelivered(tracker, KILL_AFTER_DELIVERED);
      await nats.kill('SIGKILL');
      const killedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      nats = await startNatsServer({ command, port: natsPort, storeDir });
      const restartedAt = performance.now();
      await waitUntilDelivered(tracker, EVENTS);
      await Promise.all(client.replays);

      const refused = client.exchanges.filter((exchange) => exchange.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((exchange) => exchange.retryAfter === String(RETRY_AFTER_SECONDS))).toBe(true);
      // While the server was down homing asked about once per Retry-After, not in a tight loop.
      const duringOutage = client.exchanges.filter((exchange) => exchange.startedAt > killedAt && exchange.startedAt < restartedAt);
      expect(duringOutage.length).toBeLessThanOrEqual(Math.ceil(OUTAGE_MS / 1000 / RETRY_AFTER_SECONDS) + 2);
      for (const exchange of refused) {
        const next = client.exchanges.find((later) => later.startedAt > exchange.answeredAt);
        if (next) expect(next.startedAt - exchange.answeredAt).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - TIMER_SLACK_MS);
      }
      expect(tracker.stats()).toMatchObject({ delivered: EVENTS, dropped: 0 });
      expectExactlyOnce(await readStream(stream), client.sentIds);
    },
    TEST_TIMEOUT_MS,
  );

  it('makes its stream with a 24-hour duplicate window unless told otherwise, and refuses more events than its pending bound', async () => {
    const stream = `homing_test_${++streamNumber}`;
    const sink = createJetStreamSink({ servers: `127.0.0.1:${natsPort}`, stream, subjectPrefix: `${stream}.events`, maxPendingEvents: 5 });
    try {
      await expect.poll(() => sink.health().state, { timeout: 10_000, interval: 20 }).toBe('up');
      const event = (messageId: string) => ({ type: 'track', event: 'Bounded', properties: {}, messageId });

      await expect(sink.write(Array.from({ length: 6 }, (_, i) => event(`too-many-${i}`)))).rejects.toMatchObject({ reason: 'lagging' });
      await sink.write([event('once'), event('once'), event('twice')]);
      await sink.write([event('twice')]);

      const nc = await connect({ servers: `127.0.0.1:${natsPort}` });
      const info = await (await jetstreamManager(nc)).streams.info(stream);
      await nc.close();
      expect(info.config.duplicate_window).toBe(24 * 60 * 60 * 1e9);
      expect(info.state.messages).toBe(2);
    } finally {
      await sink.close();
    }
  });
});
