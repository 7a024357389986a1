/**
 * homing's benchmarks: bundle sizes, the main-thread cost of track() in Chromium, store writes
 * per burst, end-to-end delivery to the reference collector, and Node throughput and memory.
 * Prints Markdown tables and writes every figure to bench-results/latest.json.
 *
 *   npm run bench        # builds dist/ first; about a minute on a 2-core machine
 *
 * Everything stays on 127.0.0.1: the bench starts the demo server on a free port and stops it.
 * The targets are shown next to the figures; missing one does not fail the run.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDemoServer } from '../demo/server.mjs';
import {
  launchChromium,
  measureEndToEnd,
  measureIndexedDbBurst,
  measurePooledRandomEffect,
  measureRoundTrip,
  measureTrackCost,
  openBenchPage,
  sampleEvent,
} from './bench/chromium.mjs';
import { measurePlatformCalls } from './bench/cost-breakdown.mjs';
import { bytes, check, fixed, integer, mebibytes, spread, table } from './bench/markdown.mjs';
import {
  findClosedPort,
  measureNodeBurstWrites,
  measureNodePooledRandomEffect,
  measureNodeRoundTrip,
  measureNodeTrackRate,
  sampleNodeEvent,
} from './bench/node-tracker.mjs';
import { measureBundleSizes } from './bench/sizes.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS_FILE = new URL('../bench-results/latest.json', import.meta.url);

/** Each timed figure is the median of this many runs. */
const RUNS = 7;
const TRACK_CALLS = 2_000;
const BURST_EVENTS = 1_000;
const END_TO_END_EVENTS = 10_000;
/** End-to-end takes seconds per run, so fewer runs. */
const END_TO_END_RUNS = 3;
/**
 * The target is on the first. batchSize 100 is the most events of ~600 bytes that fit the
 * default maxBatchBytes; the memory store shows what IndexedDB adds.
 */
const END_TO_END_VARIANTS = [
  { store: 'indexeddb' },
  { store: 'indexeddb', compress: true },
  { store: 'indexeddb', batchSize: 100 },
  { store: 'memory' },
];
const ROUND_TRIPS = 100;
const NODE_RATE_CALLS = 20_000;
const PLATFORM_CALL_ITERATIONS = 20_000;
/** Longer loops and more runs than elsewhere: the difference measured is about a µs per call. */
const POOLED_RANDOM_CALLS = 10_000;
const POOLED_RANDOM_RUNS = 15;
const MEMORY_EVENTS = 1_000_000;
const MEMORY_MAX_QUEUE_SIZE = 1_000;
const STORES = ['indexeddb', 'localstorage', 'memory'];

/** The goals homing is measured against; shown next to the figures, not asserted. */
const TARGETS = {
  trackMicros: 5,
  eventsPerSecond: 5_000,
  writesPerBurst: 5,
};

await main();

async function main() {
  const started = performance.now();
  const loadBefore = loadavg()[0];
  const sizes = await measureBundleSizes(fileURLToPath(new URL('../dist/', import.meta.url)), ROOT);
  const budgets = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).sizeBudget ?? {};

  const server = await startDemoServer({ port: 0 });
  let chromium;
  let node;
  try {
    chromium = await benchChromium(server);
    node = await benchNode(server);
  } finally {
    await server.close();
  }

  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      node: process.version,
      chromium: chromium.version,
      runs: RUNS,
      loadAverage: { before: loadBefore, after: loadavg()[0] },
    },
    targets: TARGETS,
    sizes: sizes.map((size) => ({ ...size, gzipBudget: budgets[size.file] })),
    chromium,
    node,
    durationSeconds: (performance.now() - started) / 1000,
  };
  console.log(renderReport(results));
  await mkdir(new URL('.', RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nWrote ${fileURLToPath(RESULTS_FILE)} in ${fixed(results.durationSeconds, 0)} s.`);
}

async function benchChromium(server) {
  const browser = await launchChromium();
  try {
    const onFreshPage = async (measure) => {
      const page = await openBenchPage(browser, server.url);
      try {
        return await measure(page);
      } finally {
        await page.close();
      }
    };
    const trackCost = [];
    for (const store of STORES) trackCost.push(await onFreshPage((page) => measureTrackCost(page, { store, runs: RUNS, calls: TRACK_CALLS })));
    const pooledRandomEffect = await onFreshPage((page) => measurePooledRandomEffect(page, { runs: POOLED_RANDOM_RUNS, calls: POOLED_RANDOM_CALLS }));
    const platformCalls = await onFreshPage(async (page) =>
      page.evaluate(measurePlatformCalls, { event: await sampleEvent(page), iterations: PLATFORM_CALL_ITERATIONS }),
    );
    const indexedDbBurst = await onFreshPage((page) => measureIndexedDbBurst(page, { runs: RUNS, burst: BURST_EVENTS }));
    const endToEnd = [];
    for (const variant of END_TO_END_VARIANTS) {
      endToEnd.push(await onFreshPage((page) => measureEndToEnd(page, server.collector, { runs: END_TO_END_RUNS, events: END_TO_END_EVENTS, ...variant })));
    }
    const roundTripMs = await onFreshPage((page) => measureRoundTrip(page, { requests: ROUND_TRIPS }));
    return { version: browser.version(), trackCost, pooledRandomEffect, platformCalls, indexedDbBurst, endToEnd, roundTripMs };
  } finally {
    await browser.close();
  }
}

async function benchNode(server) {
  const closedPort = await findClosedPort();
  const trackRate = await measureNodeTrackRate({ runs: RUNS, calls: NODE_RATE_CALLS, closedPort });
  const pooledRandomEffect = await measureNodePooledRandomEffect({ runs: POOLED_RANDOM_RUNS, calls: POOLED_RANDOM_CALLS, closedPort });
  const platformCalls = measurePlatformCalls({ event: await sampleNodeEvent(closedPort), iterations: PLATFORM_CALL_ITERATIONS });
  const burst = await measureNodeBurstWrites({ runs: RUNS, burst: BURST_EVENTS, endpoint: `${server.url}v1/batch` });
  const roundTripMs = await measureNodeRoundTrip(`${server.url}bench-round-trip`, { requests: ROUND_TRIPS });
  const memory = await measureMemoryInChild(closedPort);
  return { trackRate, pooledRandomEffect, platformCalls, burst, roundTripMs, memory };
}

/** In a child process of its own, so `--expose-gc` and the heap figures concern homing alone. */
async function measureMemoryInChild(closedPort) {
  const child = fileURLToPath(new URL('./bench/memory-child.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', child, String(closedPort), String(MEMORY_EVENTS), String(MEMORY_MAX_QUEUE_SIZE)],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

function renderReport(results) {
  return [
    `# homing bench, ${results.date.slice(0, 10)}`,
    '',
    renderMachineCaveat(results.machine),
    renderTargets(results),
    renderSizes(results.sizes),
    renderTrackCost(results.chromium),
    renderTrackBreakdown(results),
    renderBurstWrites(results),
    renderEndToEnd(results),
    renderNode(results.node),
  ].join('\n');
}

/** Every section: a heading, an optional note, then its tables. */
function section(title, note, ...tables) {
  return [`## ${title}`, '', ...(note ? [note, ''] : []), ...tables.flatMap((t) => [t, '']) ].join('\n');
}

function renderMachineCaveat(machine) {
  return (
    `> Machine: ${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}, Chromium ${machine.chromium}. ` +
    `Timed figures are medians of ${machine.runs} runs (end-to-end: ${END_TO_END_RUNS}), shown as median (min–max). ` +
    `Load average (1 min) ${fixed(machine.loadAverage.before, 1)} before the bench, ${fixed(machine.loadAverage.after, 1)} after: ` +
    'on a small shared machine expect ±30 % between runs of the bench; compare figures from one machine only.\n'
  );
}

function targetChecks({ chromium, node }) {
  const idbTrack = chromium.trackCost.find((cost) => cost.store === 'indexeddb').microsPerCall.median;
  const defaultEndToEnd = chromium.endToEnd[0].eventsPerSecond.median;
  return {
    track: { measured: `${fixed(idbTrack, 2)} µs`, met: idbTrack < TARGETS.trackMicros },
    endToEnd: { measured: `${integer(defaultEndToEnd)} events/s`, met: defaultEndToEnd >= TARGETS.eventsPerSecond },
    browserWrites: { measured: integer(chromium.indexedDbBurst.writesUntilPersisted.max), met: chromium.indexedDbBurst.writesUntilPersisted.max <= TARGETS.writesPerBurst },
    nodeWrites: { measured: integer(node.burst.writesUntilPersisted.max), met: node.burst.writesUntilPersisted.max <= TARGETS.writesPerBurst },
  };
}

function renderTargets(results) {
  const checks = targetChecks(results);
  const burst = `${integer(BURST_EVENTS)}-event burst`;
  return section(
    'Targets',
    '',
    table(
      ['target', 'measured', ''],
      [
        [`track() in Chromium with IndexedDB < ${TARGETS.trackMicros} µs (median)`, checks.track.measured, check(checks.track.met)],
        [`end-to-end >= ${integer(TARGETS.eventsPerSecond)} events/s (default batchSize)`, checks.endToEnd.measured, check(checks.endToEnd.met)],
        [`<= ${TARGETS.writesPerBurst} store writes per ${burst} (Chromium, IndexedDB; worst run)`, checks.browserWrites.measured, check(checks.browserWrites.met)],
        [`<= ${TARGETS.writesPerBurst} store writes per ${burst} (Node, memory; worst run)`, checks.nodeWrites.measured, check(checks.nodeWrites.met)],
      ],
    ),
  );
}

function renderSizes(sizes) {
  return section(
    'Bundle sizes',
    "Files the build leaves unminified are minified with terser (the IIFE build's options); gzip at level 9 and brotli at quality 11 of the minified bytes. The budget is package.json's `sizeBudget`.",
    table(
      ['file', 'raw', 'minified', 'gzip', 'brotli', 'gzip budget'],
      sizes.map((size) => [
        size.file,
        bytes(size.raw),
        bytes(size.minified),
        bytes(size.gzip),
        bytes(size.brotli),
        size.gzipBudget ? `${bytes(size.gzipBudget)} (${check(size.gzip <= size.gzipBudget)})` : '',
      ]),
    ),
  );
}

function renderTrackCost(chromium) {
  return section(
    `track() on the main thread, Chromium (${integer(TRACK_CALLS)} calls in one synchronous loop)`,
    'Each run is a new tracker on a warm page (the IIFE bundle); "cold" is the first burst on a fresh page, before the JIT has optimized anything. ' +
      'Burst task runs from the first call to the next task, so it includes the write-behind and the first send, which run as microtasks right after the loop. ' +
      'Longest task: the longest `longtask` entry overlapping a burst, "none" when all stayed under 50 ms.',
    table(
      ['store', 'µs per call', 'cold µs per call', 'burst task (ms)', 'longest task (any burst)', 'target'],
      chromium.trackCost.map((cost) => [
        cost.storeUsed === cost.store ? cost.store : `${cost.store} (fell back to ${cost.storeUsed})`,
        spread(cost.microsPerCall, (n) => fixed(n, 2)),
        fixed(cost.coldMicrosPerCall, 2),
        spread(cost.burstTaskMs),
        cost.longestTaskMs ? `${fixed(cost.longestTaskMs, 0)} ms` : 'none',
        cost.store === 'indexeddb' ? `< ${TARGETS.trackMicros} µs: ${check(cost.microsPerCall.median < TARGETS.trackMicros)}` : '',
      ]),
    ),
  );
}

function renderTrackBreakdown({ chromium, node }) {
  const micros = (n) => fixed(n, 2);
  const effectRow = (where, { real, pooled }) => [where, spread(real, micros), spread(pooled, micros), `${micros(real.median - pooled.median)} / ${micros(real.min - pooled.min)} µs`];
  return section(
    'Where track() spends its time',
    `The platform calls behind one track(), each timed alone (${integer(PLATFORM_CALL_ITERATIONS)} iterations; the event serializes to ` +
      `${integer(chromium.platformCalls.eventBytes)} bytes in Chromium, ${integer(node.platformCalls.eventBytes)} in Node). Then loops of ${integer(POOLED_RANDOM_CALLS)} track() calls ` +
      `(memory store, nothing sent) in ${POOLED_RANDOM_RUNS} alternating pairs of runs with the real \`crypto.getRandomValues\` and with a stand-in that refills a 4 KiB pool ` +
      '(one platform call per 256 events). Under load the best runs say more than the medians.',
    table(
      ['platform call', 'Chromium µs', 'Node µs'],
      Object.keys(chromium.platformCalls.costs).map((call) => [
        call,
        micros(chromium.platformCalls.costs[call]),
        node.platformCalls.costs[call] === undefined ? 'n/a' : micros(node.platformCalls.costs[call]),
      ]),
    ),
    table(
      ['track() µs per call', 'real getRandomValues', 'pooled', 'saved: medians / best runs'],
      [effectRow('Chromium', chromium.pooledRandomEffect), effectRow('Node', node.pooledRandomEffect)],
    ),
  );
}

function renderBurstWrites({ chromium, node }) {
  const browser = chromium.indexedDbBurst;
  const target = (summary) => `<= ${TARGETS.writesPerBurst}: ${check(summary.max <= TARGETS.writesPerBurst)}`;
  return section(
    `Store writes per ${integer(BURST_EVENTS)}-event burst`,
    'Times run from the first track() of the burst. Chromium: IndexedDB readwrite transactions are counted, and the records are counted from a connection of our own until all are there; the page is offline meanwhile, so no delivery mixes in. ' +
      'Node: a counting wrapper around `createMemoryStore()`, delivering to the collector (default batchSize 50), so each delivered batch is one more write (its removal).',
    table(
      ['where', 'writes until persisted', 'ms until persisted', 'of which the loop (ms)', 'writes until delivered', 'target'],
      [
        [`Chromium, ${browser.storeUsed}`, spread(browser.writesUntilPersisted, integer), spread(browser.persistedMs), spread(browser.loopMs), '', target(browser.writesUntilPersisted)],
        [
          'Node, memory',
          spread(node.burst.writesUntilPersisted, integer),
          spread(node.burst.persistedMs),
          spread(node.burst.loopMs),
          `${integer(node.burst.writesUntilDelivered.median)} (${integer(node.burst.requests.median)} requests)`,
          target(node.burst.writesUntilPersisted),
        ],
      ],
    ),
  );
}

function renderEndToEnd({ chromium, node }) {
  const eventsPerRequest = END_TO_END_EVENTS / chromium.endToEnd[0].requests.median;
  const ceiling = (eventsPerRequest / chromium.roundTripMs) * 1000;
  return section(
    'End-to-end delivery, Chromium to the reference collector on loopback',
    `${integer(END_TO_END_EVENTS)} events tracked in one synchronous loop (default maxBatchBytes, maxQueueSize ${integer(END_TO_END_EVENTS)} so none overflow); ` +
      'the clock stops when the collector has seen every one. homing sends one request at a time, so the page\'s round trip to the server bounds the rate: ' +
      `a 1-byte POST from the page takes ${fixed(chromium.roundTripMs, 2)} ms here (from Node's fetch: ${fixed(node.roundTripMs, 2)} ms), ` +
      `a ceiling of ${integer(ceiling)} events/s at ${integer(eventsPerRequest)} events per request. ` +
      'The memory row shows what IndexedDB adds: the burst\'s own write, and one more write (a removal) per delivered batch. ' +
        'Bytes on the wire are the request bodies as sent; the gzip row uses the `compress` option (CompressionStream).',
    table(
      ['store', 'batchSize', 'gzip', 'events/s', 'seconds', 'requests', 'bytes on the wire', 'bytes per event', 'duplicates', 'target'],
      chromium.endToEnd.map((run, i) => [
        run.storeUsed,
        run.batchSize === 'default' ? 'default (50)' : String(run.batchSize),
        run.compress ? 'yes' : 'no',
        spread(run.eventsPerSecond, integer),
        spread(run.seconds, (n) => fixed(n, 2)),
        integer(run.requests.median),
        bytes(run.bytesSent.median),
        integer(run.bytesPerEvent.median),
        integer(run.duplicates.max),
        i === 0 ? `>= ${integer(TARGETS.eventsPerSecond)}/s: ${check(run.eventsPerSecond.median >= TARGETS.eventsPerSecond)}` : '',
      ]),
    ),
  );
}

function renderNode(node) {
  const { memory } = node;
  return section(
    'Node',
    `Memory: ${integer(memory.events)} events tracked ${integer(1000)} per macrotask with the collector refusing connections and maxQueueSize ${integer(memory.maxQueueSize)}, ` +
      'in a child process run with --expose-gc; heap and RSS are read after a full GC.',
    table(
      ['measure', 'value'],
      [
        [`track() calls per second (memory store, ${integer(NODE_RATE_CALLS)} calls, nothing sent)`, `${spread(node.trackRate.callsPerSecond, integer)}, ${fixed(node.trackRate.microsPerCall, 2)} µs per call`],
        [`${integer(memory.events)} events while the collector is down`, `${fixed(memory.elapsedMs / 1000, 1)} s, ${integer(memory.callsPerSecond)} calls/s (each one drops the oldest)`],
        ['heapUsed: after 10,000 events → at the end (peak)', `${mebibytes(memory.baseline.heapUsed)} → ${mebibytes(memory.final.heapUsed)} (${mebibytes(memory.peakHeapUsed)})`],
        ['RSS: after 10,000 events → at the end (peak)', `${mebibytes(memory.baseline.rss)} → ${mebibytes(memory.final.rss)} (${mebibytes(memory.peakRss)})`],
        ['dropped as overflow / still queued / requests tried', `${integer(memory.droppedOverflow)} / ${integer(memory.queued)} / ${integer(memory.requests)}`],
      ],
    ),
  );
}
