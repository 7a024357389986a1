/**
 * The reference collector takes what a real Segment client sends: Segment's own Node library,
 * `@segment/analytics-node`, is pointed at it, and every call it makes (all six types of the
 * Segment spec, with a userId only, an anonymousId only, or both) must be accepted and stored
 * once. So the wire format is Segment's, not only homing's reading of it.
 */
import { Analytics } from '@segment/analytics-node';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.mjs';

type DemoServer = Awaited<ReturnType<typeof startDemoServer>>;

/** Calls of each kind; the library batches them 20 at a time. */
const ROUNDS = 25;
const KINDS_PER_ROUND = 7;

let server: DemoServer | undefined;
let dir: string | undefined;

afterEach(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  server = undefined;
  dir = undefined;
});

/** Everything the library reports going wrong; a test passes only with none. */
function recordProblems(analytics: Analytics): unknown[] {
  const problems: unknown[] = [];
  analytics.on('error', (error) => problems.push(error));
  return problems;
}

describe("Segment's Node library against the reference collector", () => {
  it('has every call of every type accepted, and each stored once in the NDJSON file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'homing-segment-'));
    const file = join(dir, 'events.ndjson');
    server = await startDemoServer({ port: 0, file });
    const statuses: number[] = [];
    const analytics = new Analytics({
      writeKey: 'segment-write-key',
      host: server.url.replace(/\/$/, ''),
      path: '/v1/batch',
      flushAt: 20,
      flushInterval: 50,
      maxRetries: 0,
    });
    const problems = recordProblems(analytics);
    const handle = server.collector.handle.bind(server.collector);
    server.collector.handle = (req, res) => {
      res.on('finish', () => statuses.push(res.statusCode));
      return handle(req, res);
    };

    for (let round = 0; round < ROUNDS; round++) {
      const userId = `user-${round}`;
      const anonymousId = `anonymous-${round}`;
      analytics.track({ userId, event: 'Order Completed', properties: { revenue: round, currency: 'EUR' } });
      analytics.track({ anonymousId, event: 'Signed Up' });
      analytics.identify({ userId, anonymousId, traits: { plan: 'pro' } });
      analytics.page({ anonymousId, name: 'Pricing', properties: { path: '/pricing' } });
      analytics.screen({ userId, name: 'Home' });
      analytics.group({ userId, groupId: `team-${round}`, traits: { seats: 5 } });
      analytics.alias({ userId, previousId: anonymousId });
    }
    await analytics.closeAndFlush({ timeout: 10_000 });

    const expected = ROUNDS * KINDS_PER_ROUND;
    expect(problems).toEqual([]);
    expect(statuses.length).toBeGreaterThan(1);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(server.collector.state).toMatchObject({ unique: expected, duplicates: 0, rejected: 0 });
    const stored = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(stored).toHaveLength(expected);
    expect(new Set(stored.map((event) => event.messageId)).size).toBe(expected);
    expect(new Set(stored.map((event) => event.type))).toEqual(new Set(['track', 'identify', 'page', 'screen', 'group', 'alias']));
    expect(stored.every((event) => event.context.library.name === '@segment/analytics-node')).toBe(true);
  });

  it('still refuses an event with neither a userId nor an anonymousId, as the Segment spec does', async () => {
    server = await startDemoServer({ port: 0 });
    const event = {
      type: 'track',
      event: 'Signed Up',
      properties: {},
      messageId: 'no-identity',
      timestamp: '2030-01-01T00:00:00.000Z',
      context: { library: { name: 'test', version: '0' } },
    };

    const response = await fetch(`${server.url}v1/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ batch: [event], sentAt: '2030-01-01T00:00:00.000Z' }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_batch', issues: [{ path: 'batch.0.anonymousId' }] });
  });
});
