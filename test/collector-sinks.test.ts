/**
 * The collector and its sinks: an answer of 2xx means every sink has the batch; a sink that
 * fails, is down or lags turns the answer into a 503 with Retry-After; a retry writes only where
 * the batch is still missing; nothing is buffered without a limit. Sinks here are fakes the test
 * holds the strings of, or the real file and forward sinks.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.mjs';
import { createSinks, parseDuration } from '../demo/sinks/config.mjs';
import { createFileSink } from '../demo/sinks/file.mjs';
import { createForwardSink, packPosts } from '../demo/sinks/forward.mjs';
import { SinkUnavailableError, type Sink, type SinkHealth } from '../demo/sinks/sink.mjs';

type DemoServer = Awaited<ReturnType<typeof startDemoServer>>;

const SENT_AT = '2030-01-01T00:00:00.000Z';
const servers: DemoServer[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function startServer(options: Parameters<typeof startDemoServer>[0]): Promise<DemoServer> {
  const server = await startDemoServer({ port: 0, ...options });
  servers.push(server);
  return server;
}

async function tempFile(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'homing-sinks-'));
  dirs.push(dir);
  return join(dir, name);
}

function trackEvent(messageId = randomUUID()) {
  return {
    type: 'track',
    event: 'Signed Up',
    properties: {},
    messageId,
    anonymousId: 'anonymous',
    timestamp: SENT_AT,
    context: { library: { name: 'homing', version: '0.0.0' } },
  };
}

const batchOf = (count: number) => ({ batch: Array.from({ length: count }, () => trackEvent()), sentAt: SENT_AT });

async function post(server: DemoServer, body: unknown) {
  const response = await fetch(`${server.url}v1/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, retryAfter: response.headers.get('Retry-After'), json: await response.json() };
}

/** A sink whose writes the test answers, one by one, and whose health it sets. */
function heldSink(name = 'held') {
  const writes: { events: any[]; resolve: () => void; reject: (error: Error) => void }[] = [];
  let health: SinkHealth = { name, state: 'up' };
  const sink: Sink = {
    name,
    write: (events) => new Promise<void>((resolve, reject) => writes.push({ events, resolve, reject })),
    health: () => health,
    close: async () => {},
  };
  return { sink, writes, setHealth: (next: Partial<SinkHealth>) => (health = { name, state: 'up', ...next }) };
}

/** A sink that fails its first `failures` writes, then stores; records what it stored. */
function flakySink(failures: number) {
  const stored: any[] = [];
  let calls = 0;
  const sink: Sink = {
    name: 'flaky',
    async write(events) {
      calls += 1;
      if (calls <= failures) throw new SinkUnavailableError('flaky', 'failed');
      stored.push(...events);
    },
    health: () => ({ name: 'flaky', state: 'up' }),
    close: async () => {},
  };
  return { sink, stored };
}

const lines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('answering only what every sink has', () => {
  it('answers 200 only once every sink has acknowledged the batch', async () => {
    const first = heldSink('first');
    const second = heldSink('second');
    const server = await startServer({ sinks: [first.sink, second.sink] });
    let answered = false;

    const answer = post(server, batchOf(3)).then((result) => ((answered = true), result));
    await expect.poll(() => first.writes.length + second.writes.length).toBe(2);
    first.writes[0]!.resolve();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    second.writes[0]!.resolve();

    expect(await answer).toMatchObject({ status: 200, json: { ok: true, accepted: 3, duplicates: 0 } });
  });

  it('answers 503 with Retry-After when a sink fails, and the retry writes each event once to the file', async () => {
    const file = await tempFile('events.ndjson');
    const flaky = flakySink(1);
    const server = await startServer({ file, sinks: [flaky.sink], unavailableRetryAfterSeconds: 3 });
    const batch = batchOf(5);

    const refused = await post(server, batch);
    const retried = await post(server, batch);
    const again = await post(server, batch);

    expect(refused).toMatchObject({ status: 503, retryAfter: '3', json: { error: 'sink_unavailable', sink: 'flaky' } });
    expect(retried).toMatchObject({ status: 200, json: { accepted: 5, duplicates: 0 } });
    expect(again).toMatchObject({ status: 200, json: { accepted: 0, duplicates: 5 } });
    const ids = batch.batch.map((event) => event.messageId);
    expect((await lines(file)).map((event) => event.messageId)).toEqual(ids);
    expect(flaky.stored.map((event) => event.messageId)).toEqual(ids);
    expect(server.collector.state).toMatchObject({ unique: 5, duplicates: 5 });
  });

  it('answers 503 at once, writing nothing, while a sink says it is down, with the sink\'s own Retry-After', async () => {
    const held = heldSink();
    held.setHealth({ state: 'down', retryAfterMs: 4_200 });
    const server = await startServer({ sinks: [held.sink] });

    const answer = await post(server, batchOf(2));

    expect(answer).toMatchObject({ status: 503, retryAfter: '5', json: { error: 'sink_unavailable', sink: 'held', reason: 'down' } });
    expect(held.writes).toHaveLength(0);
  });

  it('lets a request whose events another request is writing wait for that write, so the sink gets them once', async () => {
    const held = heldSink();
    const server = await startServer({ sinks: [held.sink] });
    const batch = batchOf(4);

    const firstAnswer = post(server, batch);
    await expect.poll(() => held.writes.length).toBe(1);
    const secondAnswer = post(server, batch);
    await new Promise((resolve) => setTimeout(resolve, 50));
    held.writes[0]!.resolve();

    expect((await firstAnswer).json).toMatchObject({ accepted: 4, duplicates: 0 });
    expect((await secondAnswer).json).toMatchObject({ accepted: 0, duplicates: 4 });
    expect(held.writes).toHaveLength(1);
  });

  it('fails the waiting request too when the write it waited for fails', async () => {
    const held = heldSink();
    const server = await startServer({ sinks: [held.sink] });
    const batch = batchOf(2);

    const firstAnswer = post(server, batch);
    await expect.poll(() => held.writes.length).toBe(1);
    const secondAnswer = post(server, batch);
    await new Promise((resolve) => setTimeout(resolve, 50));
    held.writes[0]!.reject(new SinkUnavailableError('held', 'failed'));

    expect((await firstAnswer).status).toBe(503);
    expect((await secondAnswer).status).toBe(503);
    expect(server.collector.state.unique).toBe(0);
  });
});

describe('/health', () => {
  it('reports each sink\'s state: 200 while all are up, 503 once one is not', async () => {
    const file = await tempFile('events.ndjson');
    const held = heldSink();
    const server = await startServer({ file, sinks: [held.sink] });

    const healthy = await fetch(`${server.url}health`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toMatchObject({ ok: true, sinks: [{ name: 'file', state: 'up' }, { name: 'held', state: 'up' }] });

    held.setHealth({ state: 'lagging' });
    const lagging = await fetch(`${server.url}health`);
    expect(lagging.status).toBe(503);
    expect(await lagging.json()).toMatchObject({ ok: false, sinks: [{ name: 'file', state: 'up' }, { name: 'held', state: 'lagging' }] });
  });
});

describe('the file sink', () => {
  it('refuses writes while more than maxBacklogBytes wait for the disk, and takes them again once written', async () => {
    const sink = createFileSink({ file: await tempFile('events.ndjson'), maxBacklogBytes: 1024 });
    const big = Array.from({ length: 100 }, () => ({ ...trackEvent(), properties: { text: 'x'.repeat(100) } }));

    const first = sink.write(big);
    expect(sink.health().state).toBe('lagging');
    await expect(sink.write([trackEvent()])).rejects.toMatchObject({ name: 'SinkUnavailableError', reason: 'lagging' });
    await first;
    expect(sink.health().state).toBe('up');
    await expect(sink.write([trackEvent()])).resolves.toBeUndefined();
    await sink.close();
  });
});

describe('the forward sink', () => {
  /** A fetch that answers with the statuses given, in turn, and records each body. */
  function scriptedFetch(statuses: number[], headers: Record<string, string> = {}) {
    const bodies: any[] = [];
    const fetchStub = (async (_url: unknown, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response('{}', { status: statuses.shift() ?? 200, headers });
    }) as typeof fetch;
    return { fetch: fetchStub, bodies };
  }

  it('packs the writes that arrive together into posts within the event and byte limits', () => {
    const write = (count: number) => ({ events: Array.from({ length: count }, () => trackEvent()), posts: 0, failed: false, resolve() {}, reject() {} });
    const writes = [write(3), write(4), write(1)];

    const posts = packPosts(writes, 5, 1_000_000);

    expect(posts.map((post) => post.events.length)).toEqual([5, 3]);
    expect(writes.map((one) => one.posts)).toEqual([1, 2, 1]);
    const bytesOfOne = Buffer.byteLength(JSON.stringify(trackEvent())) + 1;
    expect(packPosts([write(10)], 500, bytesOfOne * 3).map((post) => post.events.length)).toEqual([3, 3, 3, 1]);
  });

  it('retries a post the target answered 503, and acknowledges once it answered 200', async () => {
    const target = scriptedFetch([503, 503, 200]);
    const sink = createForwardSink({ endpoint: 'https://KEY@collector.example/v1/batch', fetch: target.fetch, random: () => 0 });
    const events = [trackEvent(), trackEvent()];

    await expect(sink.write(events)).resolves.toBeUndefined();

    expect(target.bodies).toHaveLength(3);
    expect(target.bodies[2].batch.map((event: any) => event.messageId)).toEqual(events.map((event) => event.messageId));
    expect(sink.health()).toMatchObject({ state: 'up', pendingEvents: 0, target: 'https://collector.example/v1/batch' });
  });

  it('gives up after maxAttempts, stays down for the target\'s Retry-After, and refuses writes meanwhile', async () => {
    const target = scriptedFetch([503, 503, 503], { 'Retry-After': '7' });
    const sink = createForwardSink({ endpoint: 'http://127.0.0.1:9/v1/batch', fetch: target.fetch, maxAttempts: 3, random: () => 0 });

    await expect(sink.write([trackEvent()])).rejects.toMatchObject({ reason: 'failed' });
    expect(sink.health()).toMatchObject({ state: 'down', reason: 'answered 503' });
    expect(sink.health().retryAfterMs).toBeGreaterThan(6_000);
    await expect(sink.write([trackEvent()])).rejects.toMatchObject({ reason: 'down' });
    expect(target.bodies).toHaveLength(3);
  });

  it('refuses writes past maxPendingEvents instead of queueing them while the target is slow', async () => {
    const neverAnswers = (() => new Promise<Response>(() => {})) as typeof fetch;
    const sink = createForwardSink({ endpoint: 'http://127.0.0.1:9/v1/batch', fetch: neverAnswers, maxPendingEvents: 10 });

    void sink.write(Array.from({ length: 8 }, () => trackEvent()));
    await expect(sink.write([trackEvent(), trackEvent(), trackEvent()])).rejects.toMatchObject({ reason: 'lagging' });
    expect(sink.health()).toMatchObject({ pendingEvents: 8 });
  });
});

describe('COLLECTOR_SINKS', () => {
  it('builds a file and a forward sink from one list, and refuses what it does not know', async () => {
    const sinks = await createSinks('file, http://127.0.0.1:9/v1/batch', { file: await tempFile('events.ndjson') });

    expect(sinks.map((sink) => sink.name)).toEqual(['file', 'forward']);
    await Promise.all(sinks.map((sink) => sink.close()));
    await expect(createSinks('kafka://127.0.0.1:9092')).rejects.toThrow(TypeError);
    await expect(createSinks('file,file', { file: await tempFile('twice.ndjson') })).rejects.toThrow(/two file sinks/);
  });

  it('reads durations as NATS writes them', () => {
    expect(parseDuration('24h', 'duplicateWindow')).toBe(86_400_000);
    expect(parseDuration('2s', 'ackTimeout')).toBe(2_000);
    expect(parseDuration('500ms', 'ackTimeout')).toBe(500);
    expect(parseDuration('90', 'duplicateWindow')).toBe(90_000);
    expect(parseDuration(undefined, 'ackTimeout')).toBeUndefined();
    expect(() => parseDuration('a day', 'duplicateWindow')).toThrow(TypeError);
  });
});
