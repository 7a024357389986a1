/**
 * homing runs in Node (design.md, invariant 8): real `node` processes run the built bundles
 * (`dist/homing.mjs`, `dist/homing.cjs`) against the demo server's collector, started here on a
 * free port. Each program is a file in `test/fixtures/` that prints JSON lines; what it prints is
 * checked against what the collector accepted.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

type DemoServer = Awaited<ReturnType<typeof import('../demo/server.mjs').startDemoServer>>;
type Collector = DemoServer['collector'];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_MJS = fileURLToPath(new URL('../dist/homing.mjs', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Longer than any of these programs needs; one still running then is killed and fails its test. */
const CHILD_TIMEOUT_MS = 20_000;
/** A process with nothing left to do ends at once; this leaves room for Node's start-up on a slow machine. */
const PROMPT_EXIT_MS = 5_000;
/** Events in each of the ESM and CJS programs: more than two batches of the default 50. */
const EVENTS_PER_PROGRAM = 120;
/** One full batch sent at once, and 20 left for the `beforeExit` flush. */
const EVENTS_LEFT_AT_EXIT = 70;
/** Events per destination in the two-tracker program; fewer than a batch, so each goes on its flush interval. */
const EVENTS_PER_DESTINATION = 30;
/** The healthy destination's events arrive on its 100 ms flush interval: well within this. */
const PROMPT_DELIVERY_MS = 2_000;

let demo: DemoServer;
let failingDemo: DemoServer;
const endpointOf = (server: DemoServer) => `${server.url}v1/batch`;

beforeAll(async () => {
  if (!existsSync(DIST_MJS)) execFileSync('npx', ['rollup', '-c'], { cwd: ROOT, stdio: 'inherit' });
  // The demo server reads dist/schema.mjs as it loads: imported only once dist/ exists.
  const { startDemoServer } = await import('../demo/server.mjs');
  demo = await startDemoServer({ port: 0 });
  failingDemo = await startDemoServer({ port: 0 });
}, 120_000);

afterAll(async () => {
  await demo?.close();
  await failingDemo?.close();
});

interface NodeRun {
  /** The exit code, or null when the process had to be killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit. */
  ms: number;
  /** stdout's JSON lines, parsed. */
  lines: any[];
}

/** Runs `node <args>` to its end, killing it after {@link CHILD_TIMEOUT_MS}. */
function runNode(args: string[]): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: performance.now() - started, lines: jsonLines(stdout) });
    });
  });
}

function jsonLines(text: string): any[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

/** The messageIds the collector accepted, in arrival order, restricted to `ids`. */
function arrived(collector: Collector, ids: readonly string[]): string[] {
  const wanted = new Set(ids);
  return (collector.received().events as Array<{ messageId: string }>).map((event) => event.messageId).filter((id) => wanted.has(id));
}

/** How many times the collector was sent one of `ids` again after accepting it. */
function duplicatesOf(collector: Collector, before: number): number {
  return collector.received().duplicates - before;
}

/** Asserts every event of `ids` arrived, once, in tracking order; returns the figures for the log. */
function expectDeliveredInOrder(collector: Collector, ids: readonly string[], duplicatesBefore: number) {
  const order = arrived(collector, ids);
  expect(order).toHaveLength(ids.length);
  expect(order).toEqual(ids);
  expect(duplicatesOf(collector, duplicatesBefore)).toBe(0);
  return { sent: ids.length, arrived: order.length, duplicates: duplicatesOf(collector, duplicatesBefore) };
}

function report(label: string, figures: Record<string, unknown>) {
  console.log(`[counts] ${label}: ${Object.entries(figures).map(([key, value]) => `${key}=${value}`).join(' ')}`);
}

describe('homing in Node', { timeout: 30_000 }, () => {
  it.each([
    ['an ES module program (dist/homing.mjs)', 'node-track-shutdown.mjs'],
    ['a CommonJS program (dist/homing.cjs)', 'node-track-shutdown.cjs'],
  ])('delivers every event of %s once and in order, from the memory store', async (label, file) => {
    const duplicatesBefore = demo.collector.received().duplicates;
    const run = await runNode([fixture(file), endpointOf(demo), String(EVENTS_PER_PROGRAM)]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [{ store, ids, stats }] = run.lines;
    // Node has neither IndexedDB nor localStorage: 'auto' ends at memory.
    expect(store).toBe('memory');
    expect(ids).toHaveLength(EVENTS_PER_PROGRAM);
    expect(stats).toMatchObject({ received: EVENTS_PER_PROGRAM, delivered: EVENTS_PER_PROGRAM, queued: 0, dropped: 0, store: 'memory' });
    report(label, { store, ...expectDeliveredInOrder(demo.collector, ids, duplicatesBefore), ms: Math.round(run.ms) });
  });

  it('delivers events tracked by a program that just ends, flushing on beforeExit, and lets it end at once', async () => {
    const duplicatesBefore = demo.collector.received().duplicates;
    const run = await runNode([fixture('node-track-and-end.mjs'), endpointOf(demo), String(EVENTS_LEFT_AT_EXIT)]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // The flush interval is a minute: ending long before it means no timer kept the process alive.
    expect(run.ms).toBeLessThan(PROMPT_EXIT_MS);
    const [tracked, exit] = run.lines;
    expect(tracked).toMatchObject({ step: 'tracked', store: 'memory' });
    expect(exit.stats).toMatchObject({ delivered: EVENTS_LEFT_AT_EXIT, queued: 0 });
    // Asserted after the process is gone: what arrived was sent before it ended.
    report('a program that just ends', { ...expectDeliveredInOrder(demo.collector, tracked.ids, duplicatesBefore), ms: Math.round(run.ms) });
  });

  it('leaves what a killed process queued in its file store to the next process, which delivers it once and in order', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'homing-node-file-'));
    const file = join(directory, 'queue', 'events.log');
    try {
      // Nothing listens on port 9: every attempt fails, and the events stay in the file.
      const crashed = await runNode([fixture('node-file-store.mjs'), 'crash', 'http://127.0.0.1:9/v1/batch', file, String(EVENTS_PER_PROGRAM)]);
      expect(crashed.code).toBeNull();
      const [{ ids, store }] = crashed.lines;
      expect(store).toBe('file');
      expect(ids).toHaveLength(EVENTS_PER_PROGRAM);
      expect(arrived(demo.collector, ids)).toEqual([]);

      const duplicatesBefore = demo.collector.received().duplicates;
      const next = await runNode([fixture('node-file-store.mjs'), 'send', endpointOf(demo), file]);
      expect(next.stderr).toBe('');
      expect(next.code).toBe(0);
      expect(next.lines[0].stats).toMatchObject({ delivered: EVENTS_PER_PROGRAM, queued: 0, store: 'file' });
      report('killed process, file store, next process', { ...expectDeliveredInOrder(demo.collector, ids, duplicatesBefore), ms: Math.round(next.ms) });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('imports the ESM build where there is no window or document, touching no browser global', async () => {
    const script = `
      if (typeof window !== 'undefined' || typeof document !== 'undefined') throw new Error('this Node has DOM globals');
      // Node 21+ has a navigator; homing must not need one.
      delete globalThis.navigator;
      const BROWSER_GLOBALS = ['window', 'document', 'navigator', 'self', 'location', 'localStorage', 'sessionStorage', 'indexedDB', 'addEventListener', 'BroadcastChannel'];
      const touched = [];
      const saved = {};
      for (const name of BROWSER_GLOBALS) {
        saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
        Object.defineProperty(globalThis, name, { configurable: true, get: () => void touched.push(name) });
      }
      const globalsBefore = new Set(Reflect.ownKeys(globalThis));
      const homing = await import(${JSON.stringify(DIST_MJS)});
      const touchedAtImport = [...touched];
      const globalsAdded = Reflect.ownKeys(globalThis).filter((key) => !globalsBefore.has(key)).map(String);
      // The loader's own file handle closes within a turn; anything still there then is the module's.
      await new Promise((resolve) => setImmediate(resolve));
      const resourcesAfterImport = process.getActiveResourcesInfo();
      for (const name of BROWSER_GLOBALS) {
        delete globalThis[name];
        if (saved[name] && name !== 'navigator') Object.defineProperty(globalThis, name, saved[name]);
      }
      const tracker = homing.createTracker({ endpoint: 'http://127.0.0.1:9/v1/batch', store: 'memory' });
      console.log(JSON.stringify({ touchedAtImport, globalsAdded, resourcesAfterImport, exports: Object.keys(homing), store: tracker.stats().store }));
      // No shutdown(): an idle tracker must not keep the process alive.
    `;
    const run = await runNode(['--input-type=module', '-e', script]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(PROMPT_EXIT_MS);
    const [result] = run.lines;
    expect(result.exports).toContain('createTracker');
    expect(result.touchedAtImport).toEqual([]);
    expect(result.globalsAdded).toEqual([]);
    expect(result.resourcesAfterImport).toEqual([]);
    expect(result.store).toBe('memory');
    report('import without DOM globals', { touchedAtImport: result.touchedAtImport.length, globalsAdded: result.globalsAdded.length, ms: Math.round(run.ms) });
  });

  it('lets a process holding an idle tracker with the default options end without shutdown()', async () => {
    const script = `
      import { createTracker } from ${JSON.stringify(DIST_MJS)};
      const tracker = createTracker({ endpoint: 'http://127.0.0.1:9/v1/batch' });
      await tracker.flush();
      console.log(JSON.stringify({ store: tracker.stats().store, resources: process.getActiveResourcesInfo() }));
    `;
    const run = await runNode(['--input-type=module', '-e', script]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(PROMPT_EXIT_MS);
    expect(run.lines[0].store).toBe('memory');
    report('idle tracker with default options', { ms: Math.round(run.ms), resources: JSON.stringify(run.lines[0].resources) });
  });

  it('sends to a healthy collector promptly while a second tracker keeps retrying a failing one', async () => {
    const healthy = demo.collector;
    const failing = failingDemo.collector;
    failing.setMode('503');
    const duplicatesBefore = { healthy: healthy.received().duplicates, failing: failing.received().duplicates };
    const failingRequestsBefore = failing.received().requests;

    const started = performance.now();
    const child = spawn(process.execPath, [fixture('node-two-destinations.mjs'), endpointOf(demo), endpointOf(failingDemo), String(EVENTS_PER_DESTINATION)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const step = (name: string) => jsonLines(stdout).find((line) => line.step === name);

    try {
      await vi.waitFor(() => expect(step('tracked'), stderr).toBeDefined(), { timeout: 10_000, interval: 20 });
      const tracked = performance.now();
      const ids: { healthy: string[]; failing: string[] } = step('tracked').ids;

      // The healthy destination gets everything, in order, on its own flush interval.
      await vi.waitFor(() => expect(arrived(healthy, ids.healthy)).toHaveLength(EVENTS_PER_DESTINATION), { timeout: 10_000, interval: 20 });
      const healthyMs = performance.now() - tracked;
      expect(healthyMs).toBeLessThan(PROMPT_DELIVERY_MS);
      const healthyFigures = expectDeliveredInOrder(healthy, ids.healthy, duplicatesBefore.healthy);

      // Meanwhile the failing destination is being retried, and has accepted nothing.
      await vi.waitFor(() => expect(failing.received().requests - failingRequestsBefore).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 50 });
      const failedRequests = failing.received().requests - failingRequestsBefore;
      expect(arrived(failing, ids.failing)).toEqual([]);

      // Once it recovers, its events follow, in order, once.
      failing.setMode('ok');
      await vi.waitFor(() => expect(arrived(failing, ids.failing)).toHaveLength(EVENTS_PER_DESTINATION), { timeout: 20_000, interval: 50 });
      const failingFigures = expectDeliveredInOrder(failing, ids.failing, duplicatesBefore.failing);

      child.stdin.end();
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
      const { stats } = step('done');
      expect(stats.healthy).toMatchObject({ delivered: EVENTS_PER_DESTINATION, retried: 0, queued: 0 });
      expect(stats.failing).toMatchObject({ delivered: EVENTS_PER_DESTINATION, queued: 0, dropped: 0 });
      expect(stats.failing.retried).toBeGreaterThan(0);

      report('healthy destination', { ...healthyFigures, ms: Math.round(healthyMs) });
      report('failing destination', { ...failingFigures, failedRequests, retried: stats.failing.retried, totalMs: Math.round(performance.now() - started) });
    } finally {
      failing.setMode('ok');
      child.kill('SIGKILL');
    }
  }, 60_000);
});
