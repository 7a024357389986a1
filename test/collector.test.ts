/**
 * The reference collector against the internet: every request here is one a stranger could send.
 * Each answer must be a clear 4xx with a JSON error, the server must go on answering valid
 * batches afterwards, and no event may be accepted twice.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopback } from '../demo/collector.mjs';
import { startDemoServer } from '../demo/server.mjs';
import { MAX_DEPTH, snapshot, type Repair } from '../src/capture/snapshot';
import { MAX_BATCH_REQUEST_BYTES } from '../src/schema';

type DemoServer = Awaited<ReturnType<typeof startDemoServer>>;
type StartOptions = Parameters<typeof startDemoServer>[0];

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  json: any;
}

const MiB = 1024 * 1024;
const SENT_AT = '2030-01-01T00:00:00.000Z';
/** Short deadlines for the slow-client cases, so they end in seconds rather than the default 30 s. */
const TEST_HEADERS_TIMEOUT_MS = 1_000;
const TEST_REQUEST_TIMEOUT_MS = 1_500;
/** Node checks deadlines once a second: an answer may come that much after one, plus scheduling. */
const DEADLINE_SLACK_MS = 1_500;

const servers: DemoServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startServer(options: StartOptions = {}): Promise<DemoServer> {
  const server = await startDemoServer({ port: 0, ...options });
  servers.push(server);
  return server;
}

/** A minimal valid track event. */
function trackEvent(messageId: string, properties: Record<string, unknown> = {}) {
  return {
    type: 'track',
    event: 'Signed Up',
    properties,
    messageId,
    anonymousId: 'anonymous',
    timestamp: SENT_AT,
    context: { library: { name: 'homing', version: '0.0.0' } },
  };
}

/** A batch of `count` events with fresh messageIds. */
function freshBatch(count: number) {
  return { batch: Array.from({ length: count }, () => trackEvent(randomUUID())), sentAt: SENT_AT };
}

/** The body of a batch whose only event carries `properties` written as raw JSON text. */
function batchWithRawProperties(properties: string): string {
  const [before, after] = JSON.stringify(freshBatch(1)).split('"properties":{}');
  return `${before}"properties":${properties}${after}`;
}

/** One request over a connection of its own. */
function send(
  server: DemoServer,
  { method = 'POST', path = '/v1/batch', headers = { 'Content-Type': 'application/json' }, body }: {
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(path, server.url), { method, headers, agent: false }, (response) => {
      readAnswer(response).then(resolve, reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

const postJson = (server: DemoServer, value: unknown) => send(server, { body: JSON.stringify(value) });

async function readAnswer(response: IncomingMessage): Promise<Answer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: response.statusCode ?? 0, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

/** Asserts a 4xx whose JSON body names the error. */
function expectClientError(answer: Answer, status: number, error: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.json).toMatchObject({ error });
}

/** The server still accepts a valid batch, and it counts exactly those events as new. */
async function expectStillServing(server: DemoServer) {
  const before = server.collector.received();
  const answer = await postJson(server, freshBatch(2));
  expect(answer.status).toBe(200);
  expect(answer.json).toEqual({ ok: true, accepted: 2, duplicates: 0 });
  const after = server.collector.received();
  expect(after.unique).toBe(before.unique + 2);
  expect(after.duplicates).toBe(before.duplicates);
  expect(new Set(after.events.map((event: any) => event.messageId)).size).toBe(after.events.length);
}

/** Records the socket of every request the collector sees, to ask how many bytes it read. */
function recordSockets(server: DemoServer): Socket[] {
  const sockets: Socket[] = [];
  const handle = server.collector.handle.bind(server.collector);
  server.collector.handle = (req, res) => {
    sockets.push(req.socket);
    return handle(req, res);
  };
  return sockets;
}

/**
 * Streams `totalBytes` of `chunk`s as a request body, with backpressure, and stops sending as
 * soon as an answer arrives. Reports how much had been sent by then.
 */
function streamBody(
  server: DemoServer,
  { headers, totalBytes, chunk }: { headers: Record<string, string>; totalBytes: number; chunk: Buffer },
): Promise<Answer & { sentWhenAnswered: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = http.request(new URL('/v1/batch', server.url), { method: 'POST', headers, agent: false }, (response) => {
      answered = true;
      const sentWhenAnswered = sent;
      readAnswer(response).then((answer) => resolve({ ...answer, sentWhenAnswered }), reject);
    });
    // The server closes the connection after answering; the unsent rest then fails to write.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (sent < totalBytes && !answered && !request.destroyed) {
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once('drain', pump);
      }
      if (sent >= totalBytes) request.end();
    };
    pump();
  });
}

/**
 * Opens a raw connection, lets `drive` write to it, and reports what came back and when the
 * server closed it.
 */
function rawConnection(server: DemoServer, drive: (socket: Socket) => (() => void) | void) {
  return new Promise<{ text: string; closedAfterMs: number }>((resolve) => {
    const started = performance.now();
    const socket = net.connect(server.port, '127.0.0.1');
    let text = '';
    let stop: (() => void) | void;
    socket.on('connect', () => (stop = drive(socket)));
    socket.on('data', (data) => (text += data.toString('latin1')));
    socket.on('error', () => {}); // a reset after the answer is the point, not a failure
    socket.on('close', () => {
      stop?.();
      resolve({ text, closedAfterMs: performance.now() - started });
    });
  });
}

/** The status and JSON body of the first HTTP response in raw socket text. */
function firstResponse(text: string): { status: number; json: any } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const [head = '', rest = ''] = text.split('\r\n\r\n');
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
  return { status, json: JSON.parse(rest.slice(0, length)) };
}

const requestHead = (headers: Record<string, string | number>) =>
  `POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;

describe('malformed bodies', () => {
  it('answers 400 invalid_json to a body that is not JSON', async () => {
    const server = await startServer();

    expectClientError(await send(server, { body: '{"batch": [' }), 400, 'invalid_json');
    expectClientError(await send(server, { body: '' }), 400, 'invalid_json');
    expectClientError(await send(server, { body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) }), 400, 'invalid_json');

    expect(server.collector.received().unique).toBe(0);
    await expectStillServing(server);
  });

  it('answers 400 invalid_batch, listing at most 20 issues, to JSON that is not a batch', async () => {
    const server = await startServer();

    expectClientError(await postJson(server, null), 400, 'invalid_batch');
    expectClientError(await postJson(server, { batch: [], sentAt: SENT_AT }), 400, 'invalid_batch');
    const manyBroken = await postJson(server, { batch: Array.from({ length: 500 }, () => ({ type: 'track' })), sentAt: SENT_AT });
    expectClientError(manyBroken, 400, 'invalid_batch');
    expect(manyBroken.json.issues.length).toBeLessThanOrEqual(20);

    await expectStillServing(server);
  });

  it('answers 400 invalid_gzip to a body that claims gzip and is not', async () => {
    const server = await startServer();

    const answer = await send(server, {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: JSON.stringify(freshBatch(1)),
    });

    expectClientError(answer, 400, 'invalid_gzip');
    await expectStillServing(server);
  });

  it('answers 400 bad_request as JSON to bytes that are not HTTP', async () => {
    const server = await startServer();

    const { text } = await rawConnection(server, (socket) => void socket.write('NOT HTTP AT ALL\r\n\r\n'));

    expect(firstResponse(text)).toEqual({ status: 400, json: { error: 'bad_request' } });
    await expectStillServing(server);
  });

  it('answers 400 to a request target no URL parser accepts, and does not crash on it', async () => {
    const server = await startServer();

    for (const path of ['//', '//[', '///v1/batch']) {
      const { text } = await rawConnection(server, (socket) => void socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
      expect(text).toMatch(/^HTTP\/1\.1 (400|404) /);
    }

    await expectStillServing(server);
  });
});

describe('content types', () => {
  it.each([
    ['application/xml', 'application/xml'],
    ['multipart/form-data', 'multipart/form-data; boundary=----x'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['a JSON-looking vendor type', 'application/vnd.api+json'],
  ])('answers 415 unsupported_media_type to %s, even with a valid batch in it', async (_name, contentType) => {
    const server = await startServer();

    const answer = await send(server, { headers: { 'Content-Type': contentType }, body: JSON.stringify(freshBatch(1)) });

    expectClientError(answer, 415, 'unsupported_media_type');
    expect(server.collector.received().unique).toBe(0);
    await expectStillServing(server);
  });

  it('answers 415 unsupported_media_type to a body with no Content-Type', async () => {
    const server = await startServer();

    const answer = await send(server, { headers: {}, body: JSON.stringify(freshBatch(1)) });

    expectClientError(answer, 415, 'unsupported_media_type');
    await expectStillServing(server);
  });

  it('answers 415 unsupported_encoding to an encoding other than gzip', async () => {
    const server = await startServer();

    const answer = await send(server, {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br' },
      body: JSON.stringify(freshBatch(1)),
    });

    expectClientError(answer, 415, 'unsupported_encoding');
    await expectStillServing(server);
  });

  it('accepts the text/plain that sendBeacon sends', async () => {
    const server = await startServer();

    const answer = await send(server, { headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(freshBatch(3)) });

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ ok: true, accepted: 3, duplicates: 0 });
  });
});

describe('bodies too large to read', () => {
  const FIFTY_MIB = 50 * MiB;
  const CHUNK = Buffer.alloc(64 * 1024, 0x20); // one buffer, written again and again: the client holds 64 KiB

  it('cuts a 50 MiB chunked body off at 500 KiB with 413, before the client has finished sending', async () => {
    const server = await startServer();
    const sockets = recordSockets(server);
    const memoryBefore = process.memoryUsage();

    const answer = await streamBody(server, {
      headers: { 'Content-Type': 'application/json' },
      totalBytes: FIFTY_MIB,
      chunk: CHUNK,
    });

    expectClientError(answer, 413, 'payload_too_large');
    expect(answer.json.maxBodyBytes).toBe(MAX_BATCH_REQUEST_BYTES);
    expect(answer.sentWhenAnswered).toBeLessThan(FIFTY_MIB);
    // The server read the limit and a socket read or two past it, not 50 MiB.
    expect(sockets[0]!.bytesRead).toBeLessThan(2 * MAX_BATCH_REQUEST_BYTES);
    const memoryAfter = process.memoryUsage();
    expect(memoryAfter.rss - memoryBefore.rss).toBeLessThan(FIFTY_MIB / 4);
    expect(memoryAfter.heapUsed - memoryBefore.heapUsed).toBeLessThan(FIFTY_MIB / 4);
    expect(memoryAfter.arrayBuffers - memoryBefore.arrayBuffers).toBeLessThan(FIFTY_MIB / 4);
    await expectStillServing(server);
  });

  it('answers 413 at once to a declared Content-Length over the limit, reading less than the limit of its body', async () => {
    const server = await startServer();
    const sockets = recordSockets(server);

    const answer = await streamBody(server, {
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(FIFTY_MIB) },
      totalBytes: FIFTY_MIB,
      chunk: CHUNK,
    });

    expectClientError(answer, 413, 'payload_too_large');
    expect(answer.sentWhenAnswered).toBeLessThan(FIFTY_MIB);
    expect(sockets[0]!.bytesRead).toBeLessThan(MAX_BATCH_REQUEST_BYTES);
    await expectStillServing(server);
  });

  it('answers 400 as JSON when 50 MiB follow a lying small Content-Length, and stops reading', async () => {
    const server = await startServer();
    const declared = 100;
    const body = Buffer.from(JSON.stringify(freshBatch(5)));
    let written = 0;

    const { text } = await rawConnection(server, (socket) => {
      socket.write(requestHead({ 'Content-Type': 'application/json', 'Content-Length': declared }));
      const pump = () => {
        while (written < FIFTY_MIB && !socket.destroyed) {
          const chunk = written === 0 ? body : CHUNK;
          written += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });

    // Either the truncated first 100 bytes (invalid_json) or the bytes after them (bad_request) are refused first.
    const first = firstResponse(text);
    expect(first.status).toBe(400);
    expect(['invalid_json', 'bad_request']).toContain(first.json.error);
    expect(written).toBeLessThan(FIFTY_MIB);
    expect(server.collector.received().unique).toBe(0);
    await expectStillServing(server);
  });

  it('answers 413 to a gzip bomb: 100 KiB on the wire, 100 MiB inflated', async () => {
    const server = await startServer();
    const sockets = recordSockets(server);
    // gzip members concatenate: 100 copies of 1 MiB of spaces, about 1 KiB each compressed.
    const bomb = Buffer.concat(Array.from({ length: 100 }, () => gzipSync(Buffer.alloc(MiB, 0x20))));
    expect(bomb.length).toBeLessThan(MAX_BATCH_REQUEST_BYTES);
    const memoryBefore = process.memoryUsage();

    const answer = await send(server, { headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: bomb });

    expectClientError(answer, 413, 'payload_too_large');
    expect(sockets[0]!.bytesRead).toBeLessThanOrEqual(bomb.length + 1024);
    expect(process.memoryUsage().arrayBuffers - memoryBefore.arrayBuffers).toBeLessThan(25 * MiB);
    await expectStillServing(server);
  });

  it('answers 413 to a single-member gzip bomb of 64 MiB', async () => {
    const server = await startServer();
    const bomb = gzipSync(Buffer.alloc(64 * MiB, 0x20));

    const answer = await send(server, { headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: bomb });

    expectClientError(answer, 413, 'payload_too_large');
    await expectStillServing(server);
  });
});

describe('deeply nested JSON', () => {
  const LEVELS = 100_000;

  it('answers 400 too_deep to 100,000 levels of arrays inside properties, without overflowing the stack', async () => {
    const server = await startServer();
    const body = batchWithRawProperties(`{"deep":${'['.repeat(LEVELS)}${']'.repeat(LEVELS)}}`);
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BATCH_REQUEST_BYTES);

    const answer = await send(server, { body });

    expectClientError(answer, 400, 'too_deep');
    expect(answer.json.maxDepth).toBeGreaterThan(MAX_DEPTH);
    await expectStillServing(server);
  });

  it('answers 413 to 100,000 levels of objects inside properties, which pass 500 KiB', async () => {
    const server = await startServer();
    const body = batchWithRawProperties(`${'{"a":'.repeat(LEVELS)}1${'}'.repeat(LEVELS)}`);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BATCH_REQUEST_BYTES);

    expectClientError(await send(server, { body }), 413, 'payload_too_large');
    await expectStillServing(server);
  });

  it('answers 400 too_deep to 80,000 levels of objects inside properties, which fit 500 KiB', async () => {
    const server = await startServer();
    const levels = 80_000;
    const body = batchWithRawProperties(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BATCH_REQUEST_BYTES);

    expectClientError(await send(server, { body }), 400, 'too_deep');
    await expectStillServing(server);
  });

  it('answers 400 too_deep to a whole body of nested arrays', async () => {
    const server = await startServer();

    expectClientError(await send(server, { body: `${'['.repeat(LEVELS)}${']'.repeat(LEVELS)}` }), 400, 'too_deep');
    await expectStillServing(server);
  });

  it('is not fooled by brackets inside strings', async () => {
    const server = await startServer();
    const brackets = '['.repeat(10_000);

    const answer = await postJson(server, { batch: [trackEvent(randomUUID(), { brackets, quote: '"[\\' })], sentAt: SENT_AT });

    expect(answer.status).toBe(200);
  });

  it('accepts the deepest properties the tracker sends', async () => {
    const server = await startServer();
    let deep: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < MAX_DEPTH * 2; level++) deep = { next: deep };
    const repairs: Repair[] = [];
    const properties = snapshot(deep, 'properties', (_path, reason) => repairs.push(reason));
    expect(repairs).toEqual(['tooDeep']);

    const answer = await postJson(server, { batch: [trackEvent(randomUUID(), properties)], sentAt: SENT_AT });

    expect(answer.status).toBe(200);
    expect(answer.json.accepted).toBe(1);
  });
});

describe('batches of 10,000 events', () => {
  /** The smallest events the schema allows are about 190 bytes: 10,000 of them cannot fit 500 KiB. */
  const TEN_THOUSAND = 10_000;
  const tenThousandEvents = () => ({ batch: Array.from({ length: TEN_THOUSAND }, (_, i) => trackEvent(`m-${i}`)), sentAt: SENT_AT });

  it('answers 413 to 10,000 events over 500 KiB, storing none of them', async () => {
    const server = await startServer();
    const body = JSON.stringify(tenThousandEvents());
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BATCH_REQUEST_BYTES);

    expectClientError(await send(server, { body }), 413, 'payload_too_large');
    expect(server.collector.received()).toMatchObject({ unique: 0, duplicates: 0, events: [] });
    await expectStillServing(server);
  });

  it('answers 413 to the same 10,000 events gzipped under 500 KiB: the limit holds after inflating too', async () => {
    const server = await startServer();
    const body = gzipSync(JSON.stringify(tenThousandEvents()));
    expect(body.length).toBeLessThan(MAX_BATCH_REQUEST_BYTES);

    const answer = await send(server, { headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body });

    expectClientError(answer, 413, 'payload_too_large');
    expect(server.collector.received().unique).toBe(0);
  });

  it('accepts as many small events as fit under 500 KiB, counting each once', async () => {
    const server = await startServer();
    const count = 2_500;
    const batch = { batch: Array.from({ length: count }, (_, i) => trackEvent(`m-${i}`)), sentAt: SENT_AT };
    expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThan(MAX_BATCH_REQUEST_BYTES);

    const answer = await postJson(server, batch);

    expect(answer.json).toEqual({ ok: true, accepted: count, duplicates: 0 });
    expect(server.collector.received()).toMatchObject({ unique: count, duplicates: 0 });
    expect(server.collector.received().events).toHaveLength(count);
  });

  it('accepts 10,000 events in one batch where the limit allows it, with 100 repeated inside it counted as duplicates', async () => {
    const server = await startServer({ maxBodyBytes: 4 * MiB });
    const batch = tenThousandEvents();
    for (let i = 0; i < 100; i++) batch.batch[TEN_THOUSAND - 1 - i] = trackEvent(`m-${i}`);

    const answer = await postJson(server, batch);

    expect(answer.json).toEqual({ ok: true, accepted: TEN_THOUSAND - 100, duplicates: 100 });
    const received = server.collector.received();
    expect(received).toMatchObject({ unique: TEN_THOUSAND - 100, duplicates: 100 });
    expect(new Set(received.events.map((event: any) => event.messageId)).size).toBe(TEN_THOUSAND - 100);
  });
});

describe('a batch sent again', () => {
  it('counts the resent events as duplicates and stores each event once, in memory and in the NDJSON file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'homing-collector-'));
    try {
      const file = join(dir, 'events.ndjson');
      const server = await startServer({ file });
      const batch = freshBatch(5);

      const first = await postJson(server, batch);
      const second = await postJson(server, batch);
      const third = await postJson(server, { ...batch, sentAt: '2030-01-01T00:05:00.000Z' });

      expect(first.json).toEqual({ ok: true, accepted: 5, duplicates: 0 });
      expect(second.json).toEqual({ ok: true, accepted: 0, duplicates: 5 });
      expect(third.json).toEqual({ ok: true, accepted: 0, duplicates: 5 });
      const received = server.collector.received();
      expect(received).toMatchObject({ unique: 5, duplicates: 10 });
      expect(received.events.map((event: any) => event.messageId)).toEqual(batch.batch.map((event) => event.messageId));

      await server.close();
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      expect(lines.map((line) => JSON.parse(line).messageId)).toEqual(batch.batch.map((event) => event.messageId));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps deduping past maxEventsInMemory, holding only the latest events as objects', async () => {
    const server = await startServer({ maxEventsInMemory: 3 });
    const batch = freshBatch(5);

    await postJson(server, batch);
    const again = await postJson(server, batch);

    expect(again.json).toEqual({ ok: true, accepted: 0, duplicates: 5 });
    const received = server.collector.received();
    expect(received).toMatchObject({ unique: 5, duplicates: 5 });
    expect(received.events.map((event: any) => event.messageId)).toEqual(batch.batch.slice(2).map((event) => event.messageId));
    expect(server.collector.state.eventsInMemory).toBe(3);
  });

  it('forgets the oldest messageIds past maxRememberedIds, which is the documented trade-off', async () => {
    const server = await startServer({ maxRememberedIds: 3 });
    const batch = freshBatch(5);

    await postJson(server, batch);
    const again = await postJson(server, { batch: batch.batch.slice(0, 1), sentAt: SENT_AT });
    const recent = await postJson(server, { batch: batch.batch.slice(4), sentAt: SENT_AT });

    expect(again.json).toEqual({ ok: true, accepted: 1, duplicates: 0 });
    expect(recent.json).toEqual({ ok: true, accepted: 0, duplicates: 1 });
  });
});

describe('slow clients', () => {
  const slowServer = () => startServer({ headersTimeoutMs: TEST_HEADERS_TIMEOUT_MS, requestTimeoutMs: TEST_REQUEST_TIMEOUT_MS });

  it(
    'answers 408 to a client that sends headers and then a byte a second, and serves others meanwhile',
    async () => {
      const server = await slowServer();

      const trickle = rawConnection(server, (socket) => {
        socket.write(requestHead({ 'Content-Type': 'application/json', 'Content-Length': 1_000 }));
        const timer = setInterval(() => socket.write('['), 1_000);
        return () => clearInterval(timer);
      });
      const started = performance.now();
      await expectStillServing(server);
      expect(performance.now() - started).toBeLessThan(TEST_REQUEST_TIMEOUT_MS);
      const { text, closedAfterMs } = await trickle;

      expect(firstResponse(text)).toEqual({ status: 408, json: { error: 'request_timeout' } });
      expect(closedAfterMs).toBeLessThan(TEST_REQUEST_TIMEOUT_MS + DEADLINE_SLACK_MS);
      expect(server.collector.received().unique).toBe(2);
      await expectStillServing(server);
    },
    10_000,
  );

  it(
    'answers 408 to a client that stops halfway through its body',
    async () => {
      const server = await slowServer();
      const body = JSON.stringify(freshBatch(3));

      const { text, closedAfterMs } = await rawConnection(server, (socket) => {
        socket.write(requestHead({ 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }));
        socket.write(body.slice(0, body.length / 2));
      });

      expect(firstResponse(text)).toEqual({ status: 408, json: { error: 'request_timeout' } });
      expect(closedAfterMs).toBeLessThan(TEST_REQUEST_TIMEOUT_MS + DEADLINE_SLACK_MS);
      expect(server.collector.received().unique).toBe(0);
      await expectStillServing(server);
    },
    10_000,
  );

  it(
    'answers 408 to a client that never finishes its headers, and closes a connection that sends nothing',
    async () => {
      const server = await slowServer();

      const [partialHeaders, silent] = await Promise.all([
        rawConnection(server, (socket) => void socket.write('POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n')),
        rawConnection(server, () => {}),
      ]);

      expect(firstResponse(partialHeaders.text)).toEqual({ status: 408, json: { error: 'request_timeout' } });
      expect(partialHeaders.closedAfterMs).toBeLessThan(TEST_HEADERS_TIMEOUT_MS + DEADLINE_SLACK_MS);
      expect(silent.closedAfterMs).toBeLessThan(TEST_REQUEST_TIMEOUT_MS + DEADLINE_SLACK_MS);
      await expectStillServing(server);
    },
    10_000,
  );

  it(
    'keeps a live feed open past the request deadline: the deadline is for receiving a request',
    async () => {
      const server = await slowServer();

      const frames = await new Promise<string>((resolve, reject) => {
        const request = http.get(new URL('/collector/feed', server.url), { agent: false }, (response) => {
          let text = '';
          response.on('data', (data) => (text += data));
          setTimeout(async () => {
            await postJson(server, freshBatch(1));
            setTimeout(() => {
              request.destroy();
              resolve(text);
            }, 100);
          }, TEST_REQUEST_TIMEOUT_MS + DEADLINE_SLACK_MS);
        });
        request.on('error', reject);
      });

      expect(frames).toMatch(/event: snapshot/);
      expect(frames).toMatch(/"accepted":1/);
    },
    10_000,
  );
});

describe('prototype pollution', () => {
  afterEach(() => {
    delete (Object.prototype as any).polluted;
  });

  const expectUnpolluted = () => {
    expect(({} as any).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  };

  it('stores __proto__ and constructor keys in properties as plain data, never touching Object.prototype', async () => {
    const server = await startServer();
    const body = batchWithRawProperties('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');

    const answer = await send(server, { body });

    expect(answer.status).toBe(200);
    expectUnpolluted();
    expect(server.collector.received().events).toHaveLength(1);
    const stored = server.collector.received().events[0] as any;
    expect(Object.hasOwn(stored.properties, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(stored.properties)).toBe(Object.prototype);
    const overHttp = await send(server, { method: 'GET', path: '/collector/received' });
    expect(JSON.stringify(overHttp.json.events[0].properties)).toContain('"__proto__":{"polluted":true}');
    expectUnpolluted();
    await expectStillServing(server);
  });

  it('ignores a top-level __proto__, whether beside a batch or pretending to be one', async () => {
    const server = await startServer();
    const batch = JSON.stringify(freshBatch(1));

    const beside = await send(server, { body: `{"__proto__":{"polluted":true},${batch.slice(1)}` });
    const pretending = await send(server, { body: `{"__proto__":${batch},"sentAt":"${SENT_AT}"}` });

    expect(beside.status).toBe(200);
    expectClientError(pretending, 400, 'invalid_batch');
    expectUnpolluted();
    expect(server.collector.received().unique).toBe(1);
  });

  it('does not take a mode from __proto__ in a control request', async () => {
    const server = await startServer();

    const answer = await send(server, { path: '/collector/mode', body: '{"__proto__":{"mode":"503","polluted":true}}' });

    expectClientError(answer, 400, 'invalid_mode');
    expect(server.collector.state.mode).toBe('ok');
    expectUnpolluted();
  });
});

describe('fault-injection controls', () => {
  it.each(['127.0.0.1', '127.8.9.10', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::ffff:127.1.2.3'])(
    'treats %s as loopback',
    (address) => {
      expect(isLoopback(address)).toBe(true);
    },
  );

  it.each([
    '10.0.0.1',
    '192.168.1.1',
    '0.0.0.0',
    '128.0.0.1',
    '::',
    '::2',
    '::ffff:10.0.0.1',
    '::ffff:192.168.1.1',
    '',
    'localhost',
    '127.0.0.1.evil.example',
    'x127.0.0.1',
    '1127.0.0.1',
  ])('does not treat %j as loopback', (address) => {
    expect(isLoopback(address)).toBe(false);
  });

  it('does not treat a missing address as loopback', () => {
    expect(isLoopback(undefined)).toBe(false);
  });

  it('switches modes and resets for a request from loopback', async () => {
    const server = await startServer();

    const mode = await send(server, { path: '/collector/mode', body: '{"mode":"503"}' });
    expect(mode.json).toMatchObject({ ok: true, mode: '503' });
    expect(server.collector.state.mode).toBe('503');
    const reset = await send(server, { path: '/collector/reset', body: '' });
    expect(reset.json).toEqual({ ok: true });
    expect(server.collector.state.mode).toBe('ok');
  });

  it('refuses a control request from a page on another site, though it arrives over loopback', async () => {
    const server = await startServer();
    const host = new URL(server.url).host;

    const crossSite: Record<string, string>[] = [
      { 'Content-Type': 'text/plain', Origin: 'https://evil.example' },
      { 'Content-Type': 'text/plain', Origin: 'null' },
      // DNS rebinding: evil.example now resolves to 127.0.0.1, so Host and Origin agree.
      { 'Content-Type': 'text/plain', Host: 'evil.example', Origin: 'http://evil.example' },
    ];
    for (const headers of crossSite) {
      expectClientError(await send(server, { path: '/collector/mode', headers, body: '{"mode":"503"}' }), 403, 'loopback_only');
      expectClientError(await send(server, { path: '/collector/reset', headers, body: '' }), 403, 'loopback_only');
    }
    expect(server.collector.state.mode).toBe('ok');

    const samePage = await send(server, { path: '/collector/mode', headers: { Origin: `http://${host}` }, body: '{"mode":"429"}' });
    expect(samePage.status).toBe(200);
  });

  const nonLoopbackAddress = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;

  it.skipIf(nonLoopbackAddress === undefined)(
    `refuses control requests that reach the server over a non-loopback address (${nonLoopbackAddress ?? 'skipped: this machine has none'})`,
    async () => {
      const server = await startServer({ host: nonLoopbackAddress });
      // The machine's own address: the packets stay on this host, but the server sees a non-loopback peer.
      const fromOutside = (path: string, body: string) =>
        new Promise<Answer>((resolve, reject) => {
          const request = http.request(
            new URL(path, server.url),
            { method: 'POST', headers: { 'Content-Type': 'application/json' }, localAddress: nonLoopbackAddress, agent: false },
            (response) => readAnswer(response).then(resolve, reject),
          );
          request.on('error', reject);
          request.end(body);
        });

      expectClientError(await fromOutside('/collector/mode', '{"mode":"503"}'), 403, 'loopback_only');
      expectClientError(await fromOutside('/collector/reset', ''), 403, 'loopback_only');
      expect(server.collector.state.mode).toBe('ok');
      const batch = await fromOutside('/v1/batch', JSON.stringify(freshBatch(1)));
      expect(batch.json).toEqual({ ok: true, accepted: 1, duplicates: 0 });
    },
  );
});

describe('the live feed', () => {
  it('closes a feed whose reader has stopped reading instead of buffering for it without end', async () => {
    const server = await startServer({ maxBodyBytes: 8 * MiB });
    const feeds: http.ServerResponse[] = [];
    const handle = server.collector.handle.bind(server.collector);
    server.collector.handle = (req, res) => {
      if (req.url === '/collector/feed') feeds.push(res);
      return handle(req, res);
    };
    const reader = net.connect(server.port, '127.0.0.1');
    reader.on('error', () => {});
    reader.write('GET /collector/feed HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    reader.pause();
    await expect.poll(() => feeds.length).toBe(1);

    // Each batch broadcasts a summary of every event: about 150 bytes each, 3 MiB a batch.
    for (let round = 0; round < 20 && !feeds[0]!.destroyed; round++) await postJson(server, freshBatch(20_000));

    expect(feeds[0]!.destroyed).toBe(true);
    reader.destroy();
    await expectStillServing(server);
  }, 30_000);
});
