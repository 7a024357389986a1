/**
 * The forward sink, end to end: homing sends to a relay collector whose sinks are its own NDJSON
 * file and a second collector, the target. The target goes away and comes back on the same port
 * and file: meanwhile the relay answers 503 with Retry-After (its file took the batches, the
 * target did not, so nothing may be acknowledged), and once the target is back every event is in
 * both files, each once: the retries were written only where they were missing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.mjs';
import { createForwardSink } from '../demo/sinks/forward.mjs';
import { createTracker, type Tracker } from '../src/index';

type DemoServer = Awaited<ReturnType<typeof startDemoServer>>;

/** Events sent while the target is up, and again as many while it is down. */
const EVENTS_PER_PHASE = 1_000;
/** Seconds in the relay's 503 Retry-After. */
const RETRY_AFTER_SECONDS = 1;
/** The relay sink's own pause after giving up on a post, shorter than a Retry-After. */
const FORWARD_DOWN_MS = 300;
const DELIVERY_TIMEOUT_MS = 20_000;

const servers: DemoServer[] = [];
let tracker: Tracker | undefined;
let dir: string | undefined;

afterEach(async () => {
  await tracker?.shutdown();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
  tracker = undefined;
  dir = undefined;
});

async function start(options: Parameters<typeof startDemoServer>[0]) {
  const server = await startDemoServer(options);
  servers.push(server);
  return server;
}

async function storedIds(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).messageId);
}

function track(count: number, phase: string) {
  for (let i = 0; i < count; i++) tracker!.track('Relayed', { phase, index: i });
}

async function waitUntilDelivered(count: number) {
  await expect.poll(() => tracker!.stats().delivered, { timeout: DELIVERY_TIMEOUT_MS, interval: 20 }).toBe(count);
}

describe('a collector relaying to another collector', () => {
  it('answers 503 while its target is down and, once it is back, has every event in both files exactly once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'homing-forward-'));
    const targetFile = join(dir, 'target.ndjson');
    const relayFile = join(dir, 'relay.ndjson');
    let target = await start({ port: 0, file: targetFile });
    const targetPort = target.port;
    const relay = await start({
      port: 0,
      file: relayFile,
      sinks: [createForwardSink({ endpoint: `${target.url}v1/batch`, maxAttempts: 2, downMs: FORWARD_DOWN_MS, random: () => 0 })],
      unavailableRetryAfterSeconds: RETRY_AFTER_SECONDS,
    });
    const sentIds = new Set<string>();
    const retryAfters: (string | null)[] = [];
    tracker = createTracker({
      endpoint: `${relay.url}v1/batch`,
      store: 'memory',
      transport: 'fetch',
      maxQueueSize: 2 * EVENTS_PER_PHASE,
      flushInterval: 10,
      maxAttempts: 1_000,
      random: () => 0,
      fetch: async (input, init) => {
        for (const event of JSON.parse(String(init?.body)).batch) sentIds.add(event.messageId);
        const response = await fetch(input, init);
        if (response.status === 503) retryAfters.push(response.headers.get('Retry-After'));
        return response;
      },
    });

    track(EVENTS_PER_PHASE, 'target up');
    await waitUntilDelivered(EVENTS_PER_PHASE);
    // Closed between requests: a post cut off mid-way could be stored by a target without dedupe memory across restarts.
    servers.splice(servers.indexOf(target), 1);
    await target.close();
    track(EVENTS_PER_PHASE, 'target down');
    await expect.poll(() => retryAfters.length, { timeout: DELIVERY_TIMEOUT_MS }).toBeGreaterThanOrEqual(2);
    target = await start({ port: targetPort, file: targetFile });
    await waitUntilDelivered(2 * EVENTS_PER_PHASE);

    expect(retryAfters.every((value) => value === String(RETRY_AFTER_SECONDS))).toBe(true);
    expect(relay.collector.state.outcomes[503]).toBeGreaterThanOrEqual(2);
    expect(tracker.stats()).toMatchObject({ delivered: 2 * EVENTS_PER_PHASE, dropped: 0 });
    expect(sentIds.size).toBe(2 * EVENTS_PER_PHASE);
    for (const [name, file] of [['target', targetFile], ['relay', relayFile]] as const) {
      const ids = await storedIds(file);
      const unique = new Set(ids);
      const missing = [...sentIds].filter((id) => !unique.has(id)).length;
      expect({ name, stored: ids.length, missing, twice: ids.length - unique.size }).toEqual({
        name,
        stored: 2 * EVENTS_PER_PHASE,
        missing: 0,
        twice: 0,
      });
    }
    expect(relay.collector.state.sinks).toMatchObject([{ name: 'file', state: 'up' }, { name: 'forward', state: 'up' }]);
  }, 40_000);
});
