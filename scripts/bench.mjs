/**
 * homing's benchmarks: bundle sizes, track() on a fresh page with default options, the
 * main-thread cost of track() on a warm page in Chromium, store writes per burst, end-to-end
 * delivery to the reference collector, and Node throughput and memory. Prints Markdown tables
 * and writes every figure to bench-results/latest.json.
 *
 *   npm run bench                            # builds dist/ first; 2–3 minutes on a 2-core machine
 *   node scripts/bench.mjs --only fresh      # one or more sections of sizes,fresh,warm,node, on the dist/ built;
 *                                            # writes bench-results/latest-<sections>.json
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
import { measureFreshPages } from './bench/fresh-page.mjs';
import { measureBundleSizes } from './bench/sizes.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS_FILE = new URL('../bench-results/latest.json', import.meta.url);

/** Each timed figure is the median of this many runs. */
const RUNS = 7;
/** The parts of the bench `--only` can pick; all of them by default. */
const SECTIONS = ['sizes', 'fresh', 'warm', 'node'];
/** Fresh browser contexts per fresh-page figure. */
const FRESH_RUNS = 7;
/** Burst sizes on a fresh page: the figures are for the first, long tasks for both. */
const FRESH_BURSTS = [2_000, 10_000];
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
  { store: 'indexeddb', batchSize: 100 },
  { store: 'memory' },
];
const ROUND_TRIPS = 100;
const NODE_RATE_CALLS = 20_000;
/** The README's default; the Node rate is also taken with it, where most of the calls overflow. */
const DEFAULT_MAX_QUEUE_SIZE = 1_000;
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
  /** Issue 12 ("A page's first track() calls cost almost nothing"): a fresh page, default options. */
  fresh: {
    createMs: 2,
    firstCallMs: 0.3,
    firstCallsMicros: 10,
    burstMicros: 6,
    longTasks: 0,
    scriptAfterMs: 30,
  },
  nodeCallsPerSecond: 1_000_000,
};

await main();

async function main() {
  const only = sectionsToRun(process.argv.slice(2));
  const started = performance.now();
  const loadBefore = loadavg()[0];
  let sizes;
  if (only.has('sizes')) {
    const budgets = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).sizeBudget ?? {};
    sizes = (await measureBundleSizes(fileURLToPath(new URL('../dist/', import.meta.url)), ROOT)).map((size) => ({ ...size, gzipBudget: budgets[size.file] }));
  }
  const fresh = only.has('fresh') ? await benchFresh() : undefined;

  let chromium;
  let node;
  if (only.has('warm') || only.has('node')) {
    const server = await startDemoServer({ port: 0 });
    try {
      if (only.has('warm')) chromium = await benchChromium(server);
      if (only.has('node')) node = await benchNode(server);
    } finally {
      await server.close();
    }
  }

  const results = {
    date: new Date().toISOString(),
    sections: [...only],
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      node: process.version,
      chromium: fresh?.version ?? chromium?.version,
      runs: RUNS,
      loadAverage: { before: loadBefore, after: loadavg()[0] },
    },
    targets: TARGETS,
    sizes,
    fresh,
    chromium,
    node,
    durationSeconds: (performance.now() - started) / 1000,
  };
  console.log(renderReport(results));
  const file = only.size === SECTIONS.length ? RESULTS_FILE : new URL(`../bench-results/latest-${[...only].join('-')}.json`, import.meta.url);
  await mkdir(new URL('.', file), { recursive: true });
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nWrote ${fileURLToPath(file)} in ${fixed(results.durationSeconds, 0)} s.`);
}

/** `--only fresh,node` (or `--only=fresh --only node`) picks sections; none given runs them all. */
function sectionsToRun(args) {
  const picked = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split('=');
    if (flag !== '--only') throw new Error(`bench: unknown argument ${args[i]}; try --only ${SECTIONS.join(',')}`);
    const value = inline ?? args[++i];
    for (const name of (value ?? '').split(',')) {
      if (!SECTIONS.includes(name)) throw new Error(`bench: unknown section "${name}"; sections are ${SECTIONS.join(', ')}`);
      picked.push(name);
    }
  }
  return new Set(picked.length ? SECTIONS.filter((name) => picked.includes(name)) : SECTIONS);
}

/** In a browser of its own, so no context of the warm bench shares its processes. */
async function benchFresh() {
  const browser = await launchChromium();
  try {
    return { version: browser.version(), ...(await measureFreshPages(browser, { runs: FRESH_RUNS, bursts: FRESH_BURSTS })) };
  } finally {
    await browser.close();
  }
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
  const overflowingTrackRate = await measureNodeTrackRate({ runs: RUNS, calls: NODE_RATE_CALLS, closedPort, maxQueueSize: DEFAULT_MAX_QUEUE_SIZE });
  const pooledRandomEffect = await measureNodePooledRandomEffect({ runs: POOLED_RANDOM_RUNS, calls: POOLED_RANDOM_CALLS, closedPort });
  const platformCalls = measurePlatformCalls({ event: await sampleNodeEvent(closedPort), iterations: PLATFORM_CALL_ITERATIONS });
  const burst = await measureNodeBurstWrites({ runs: RUNS, burst: BURST_EVENTS, endpoint: `${server.url}v1/batch` });
  const roundTripMs = await measureNodeRoundTrip(`${server.url}bench-round-trip`, { requests: ROUND_TRIPS });
  const memory = await measureMemoryInChild(closedPort);
  return { trackRate, overflowingTrackRate, pooledRandomEffect, platformCalls, burst, roundTripMs, memory };
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
  const { sizes, fresh, chromium, node } = results;
  return [
    `# homing bench, ${results.date.slice(0, 10)}`,
    '',
    renderMachineCaveat(results.machine),
    renderTargets(results),
    sizes && renderSizes(sizes),
    (fresh || chromium) && renderFreshAndWarm(results),
    chromium && renderTrackCost(chromium),
    chromium && node && renderTrackBreakdown(results),
    chromium && node && renderBurstWrites(results),
    chromium && node && renderEndToEnd(results),
    node && renderNode(node),
  ]
    .filter(Boolean)
    .join('\n');
}

/** Every section: a heading, an optional note, then its tables. */
function section(title, note, ...tables) {
  return [`## ${title}`, '', ...(note ? [note, ''] : []), ...tables.flatMap((t) => [t, '']) ].join('\n');
}

function renderMachineCaveat(machine) {
  return (
    `> Machine: ${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}, Chromium ${machine.chromium ?? "not run"}. ` +
    `Timed figures are medians of ${machine.runs} runs (end-to-end: ${END_TO_END_RUNS}), shown as median (min–max). ` +
    `Load average (1 min) ${fixed(machine.loadAverage.before, 1)} before the bench, ${fixed(machine.loadAverage.after, 1)} after: ` +
    'on a small shared machine expect ±30 % between runs of the bench; compare figures from one machine only.\n'
  );
}

/** One row per target whose section ran: what it asks, the median measured, met or missed. */
function targetRows({ fresh, chromium, node }) {
  const rows = [];
  const burst = `${integer(BURST_EVENTS)}-event burst`;
  if (fresh) {
    const goal = TARGETS.fresh;
    const [first, bigger] = fresh.bursts;
    const calls = (n) => `${integer(n)}-call burst`;
    rows.push(
      [`fresh page: createTracker() <= ${fixed(goal.createMs, 0)} ms`, `${fixed(first.createMs.median, 2)} ms`, check(first.createMs.median <= goal.createMs)],
      [`fresh page: first track() <= ${fixed(goal.firstCallMs, 1)} ms`, `${fixed(first.firstCallMs.median, 3)} ms`, check(first.firstCallMs.median <= goal.firstCallMs)],
      [`fresh page: mean of calls 1–${fresh.firstCalls} <= ${goal.firstCallsMicros} µs`, `${fixed(first.firstCallsMicrosPerCall.median, 1)} µs`, check(first.firstCallsMicrosPerCall.median <= goal.firstCallsMicros)],
      [`fresh page: µs per call over a ${calls(first.calls)} <= ${goal.burstMicros} µs`, `${fixed(first.microsPerCall.median, 2)} µs`, check(first.microsPerCall.median <= goal.burstMicros)],
      ...[first, bigger].map((run) => [`fresh page: no long task in a ${calls(run.calls)} or the 2 s after (any run)`, longTaskSummary(run), check(run.runsWithLongTasks === 0)]),
      [`fresh page: script time in the 2 s after a ${calls(fresh.profiled.calls)} <= ${goal.scriptAfterMs} ms`, `${fixed(fresh.profiled.scriptAfterMs.median, 1)} ms`, check(fresh.profiled.scriptAfterMs.median <= goal.scriptAfterMs)],
    );
  }
  if (chromium) {
    const idbTrack = chromium.trackCost.find((cost) => cost.store === 'indexeddb').microsPerCall.median;
    const defaultEndToEnd = chromium.endToEnd[0].eventsPerSecond.median;
    const writes = chromium.indexedDbBurst.writesUntilPersisted.max;
    rows.push(
      [`warm page: track() in Chromium with IndexedDB < ${TARGETS.trackMicros} µs (median)`, `${fixed(idbTrack, 2)} µs`, check(idbTrack < TARGETS.trackMicros)],
      [`end-to-end >= ${integer(TARGETS.eventsPerSecond)} events/s (default batchSize)`, `${integer(defaultEndToEnd)} events/s`, check(defaultEndToEnd >= TARGETS.eventsPerSecond)],
      [`<= ${TARGETS.writesPerBurst} store writes per ${burst} (Chromium, IndexedDB; worst run)`, integer(writes), check(writes <= TARGETS.writesPerBurst)],
    );
  }
  if (node) {
    const rate = node.trackRate.callsPerSecond.median;
    const writes = node.burst.writesUntilPersisted.max;
    rows.push(
      [`Node: >= ${integer(TARGETS.nodeCallsPerSecond)} track() calls/s (memory store)`, `${integer(rate)} calls/s`, check(rate >= TARGETS.nodeCallsPerSecond)],
      [`<= ${TARGETS.writesPerBurst} store writes per ${burst} (Node, memory; worst run)`, integer(writes), check(writes <= TARGETS.writesPerBurst)],
    );
  }
  return rows;
}

function renderTargets(results) {
  const rows = targetRows(results);
  return rows.length ? section('Targets', '', table(['target', 'measured (median)', ''], rows)) : '';
}

/** `none in 7 runs`, or how many long tasks a run had and how long the longest was. */
function longTaskSummary(run) {
  if (run.runsWithLongTasks === 0) return `none in ${run.runs} runs`;
  return `${spread(run.longTaskCount, integer)} per run, longest ${spread(run.longestTaskMs, integer)} ms (in ${run.runsWithLongTasks} of ${run.runs} runs)`;
}

function renderSizes(sizes) {
  return section(
    'Bundle sizes',
    "Every file a page can load from dist/, found by name: `*.iife.js` (script tag), `snippet*.js`, `*.mjs` (ESM; the `.cjs` twins are left out). " +
      "Files the build leaves unminified are minified with terser (the IIFE build's options); gzip at level 9 and brotli at quality 11 of the minified bytes. The budget is package.json's `sizeBudget`.",
    table(
      ['file', 'kind', 'raw', 'minified', 'gzip', 'brotli', 'gzip budget'],
      sizes.map((size) => [
        size.file,
        size.kind,
        bytes(size.raw),
        bytes(size.minified),
        bytes(size.gzip),
        bytes(size.brotli),
        size.gzipBudget ? `${bytes(size.gzipBudget)} (${check(size.gzip <= size.gzipBudget)})` : '',
      ]),
    ),
  );
}

function renderFreshAndWarm({ fresh, chromium }) {
  const warm = chromium?.trackCost.find((cost) => cost.store === 'indexeddb');
  const goal = TARGETS.fresh;
  const ms = (n) => fixed(n, 2);
  const micros = (n) => fixed(n, 1);
  const notRun = 'not run';
  const [first, bigger] = fresh?.bursts ?? [];
  const freshCell = (pick, format) => (fresh ? spread(pick(), format) : notRun);
  const warmCell = (pick, format) => (warm ? spread(pick(), format) : notRun);
  const verdict = (met) => (fresh ? check(met()) : '');
  const firstCalls = fresh?.firstCalls ?? warm?.firstCalls;
  const burstCalls = first?.calls ?? TRACK_CALLS;
  const rows = [
    ['createTracker(), synchronous (ms)', `<= ${goal.createMs} ms`, freshCell(() => first.createMs, ms), warmCell(() => warm.createMs, ms), verdict(() => first.createMs.median <= goal.createMs)],
    ['first track() call (ms)', `<= ${goal.firstCallMs} ms`, freshCell(() => first.firstCallMs, (n) => fixed(n, 3)), warmCell(() => warm.firstCallMs, (n) => fixed(n, 3)), verdict(() => first.firstCallMs.median <= goal.firstCallMs)],
    [`mean of calls 1–${firstCalls} (µs)`, `<= ${goal.firstCallsMicros} µs`, freshCell(() => first.firstCallsMicrosPerCall, micros), warmCell(() => warm.firstCallsMicrosPerCall, micros), verdict(() => first.firstCallsMicrosPerCall.median <= goal.firstCallsMicros)],
    [`µs per call over ${integer(burstCalls)} calls in one task`, `<= ${goal.burstMicros} µs`, freshCell(() => first.microsPerCall, ms), warmCell(() => warm.microsPerCall, ms), verdict(() => first.microsPerCall.median <= goal.burstMicros)],
    [
      `long tasks (>= 50 ms), ${integer(burstCalls)} calls and the 2 s after`,
      'none',
      fresh ? longTaskSummary(first) : notRun,
      warm ? `${warm.longestTaskMs ? `longest ${integer(warm.longestTaskMs)} ms` : 'none'} (the burst task only)` : notRun,
      verdict(() => first.runsWithLongTasks === 0),
    ],
  ];
  if (fresh) {
    rows.push(
      [`long tasks (>= 50 ms), ${integer(bigger.calls)} calls and the 2 s after`, 'none', longTaskSummary(bigger), '', check(bigger.runsWithLongTasks === 0)],
      [`µs per call over ${integer(bigger.calls)} calls in one task`, '', spread(bigger.microsPerCall, ms), '', ''],
      [`script time in the 2 s after ${integer(fresh.profiled.calls)} calls (CPU profile, ms)`, `<= ${goal.scriptAfterMs} ms`, spread(fresh.profiled.scriptAfterMs, micros), '', check(fresh.profiled.scriptAfterMs.median <= goal.scriptAfterMs)],
      [`all main-thread tasks in the 2 s after ${integer(first.calls)} calls (TaskDuration, ms)`, '', spread(first.taskAfterMs, micros), '', ''],
      [`same task as createTracker(): first track() call (ms)`, `<= ${goal.firstCallMs} ms`, spread(fresh.sameTask.firstCallMs, (n) => fixed(n, 3)), '', check(fresh.sameTask.firstCallMs.median <= goal.firstCallMs)],
      [`same task as createTracker(): mean of calls 1–${firstCalls} (µs)`, `<= ${goal.firstCallsMicros} µs`, spread(fresh.sameTask.firstCallsMicrosPerCall, micros), '', check(fresh.sameTask.firstCallsMicrosPerCall.median <= goal.firstCallsMicros)],
    );
  }
  return section(
    'track() on a fresh page with default options, and on a warm page',
    [fresh && freshNote(fresh), warm && warmNote()].filter(Boolean).join('\n\n'),
    table(['figure', 'target (fresh)', `fresh page, default options (${fresh?.runs ?? FRESH_RUNS} contexts)`, `warm page, IndexedDB (${RUNS} runs)`, 'fresh: target'], rows),
  );
}

function freshNote(fresh) {
  const [first] = fresh.bursts;
  const resolution = Math.max(fresh.sameTask.timerResolutionMs, ...fresh.bursts.map((burst) => burst.timerResolutionMs)) * 1000;
  const isolated = fresh.sameTask.crossOriginIsolated && fresh.bursts.every((burst) => burst.crossOriginIsolated);
  return (
    'Fresh: each figure is the median (min–max) of that many new browser contexts, each its own renderer process (cold code, empty storage, no cache). ' +
    'The page loads dist/homing.iife.js by `<script src>` from a static server on 127.0.0.1, and its next inline script calls ' +
    `\`homing.createTracker({ endpoint: '/v1/batch' })\` with nothing else set (store used: ${first.storeUsed}). ` +
    `${fresh.waitBeforeBurstMs} ms after that (the burst started at ${integer(first.burstStartMs.median)} ms, median), one timer task makes the burst's ` +
    "`track('Bench', { i, plan: 'pro' })` calls; the first call and the first " + `${fresh.firstCalls} are timed apart within it. ` +
    `By 2 s after a ${integer(first.calls)}-call burst the tracker had delivered ${integer(first.delivered.median)} and dropped ${integer(first.dropped.median)} events (medians). ` +
    `\`performance.now()\` resolution: ${fixed(resolution, 0)} µs (the page is ${isolated ? '' : '**not** '}cross-origin isolated). ` +
    'Long tasks: PerformanceObserver `longtask` entries overlapping the burst or the 2 s after it. ' +
    `Script time: the JavaScript samples of a CPU profile (100 µs sampling) from just before the burst to 2 s after it, outside the loop's own frames ` +
    `(so the microtasks right after the loop count), taken in ${fresh.profiled.runs} more contexts since sampling slows the page; GC adds ${fixed(fresh.profiled.gcMs.median, 1)} ms. ` +
    `Blink's ScriptDuration counter reads only ${fixed(first.blinkScriptAfterMs.median, 1)} ms for that window: it misses promise callbacks. ` +
    'TaskDuration counts every main-thread task (script, GC, IPC), the loop taken out. ' +
    'The same-task rows are contexts whose inline script calls track() right after createTracker(), as a snippet\'s init and first events do.'
  );
}

function warmNote() {
  return (
    `Warm: today's measurement, the IndexedDB row of the next table (a new tracker, batchSize 1000 and maxQueueSize 5000, on a page that has run bursts before; ` +
    'its page is cross-origin isolated too, for the same 5 µs timer).'
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
        'Bytes on the wire are the request bodies as sent.',
    table(
      ['store', 'batchSize', 'events/s', 'seconds', 'requests', 'bytes on the wire', 'bytes per event', 'duplicates', 'target'],
      chromium.endToEnd.map((run, i) => [
        run.storeUsed,
        run.batchSize === 'default' ? 'default (50)' : String(run.batchSize),
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
    `Rate: ${integer(NODE_RATE_CALLS)} track() calls in one synchronous loop into a new tracker per run, options \`{ endpoint, store: 'memory', maxQueueSize }\` and nothing else, ` +
      'after one untimed run for the JIT; nothing is sent during the loop (the endpoint refuses connections). ' +
      `Memory: ${integer(memory.events)} events tracked ${integer(1000)} per macrotask with the collector refusing connections and maxQueueSize ${integer(memory.maxQueueSize)}, ` +
      'in a child process run with --expose-gc; heap and RSS are read after a full GC.',
    table(
      ['measure', 'value', 'target'],
      [
        [
          `track() calls per second (memory store, maxQueueSize ${integer(node.trackRate.maxQueueSize)} so none is dropped)`,
          `${spread(node.trackRate.callsPerSecond, integer)}, ${fixed(node.trackRate.microsPerCall, 2)} µs per call`,
          `>= ${integer(TARGETS.nodeCallsPerSecond)}/s: ${check(node.trackRate.callsPerSecond.median >= TARGETS.nodeCallsPerSecond)}`,
        ],
        [
          `track() calls per second, default maxQueueSize ${integer(node.overflowingTrackRate.maxQueueSize)} (the rest drop as overflow)`,
          `${spread(node.overflowingTrackRate.callsPerSecond, integer)}, ${fixed(node.overflowingTrackRate.microsPerCall, 2)} µs per call`,
          '',
        ],
        [`${integer(memory.events)} events while the collector is down`, `${fixed(memory.elapsedMs / 1000, 1)} s, ${integer(memory.callsPerSecond)} calls/s (each one drops the oldest)`, ''],
        ['heapUsed: after 10,000 events → at the end (peak)', `${mebibytes(memory.baseline.heapUsed)} → ${mebibytes(memory.final.heapUsed)} (${mebibytes(memory.peakHeapUsed)})`, ''],
        ['RSS: after 10,000 events → at the end (peak)', `${mebibytes(memory.baseline.rss)} → ${mebibytes(memory.final.rss)} (${mebibytes(memory.peakRss)})`, ''],
        ['dropped as overflow / still queued / requests tried', `${integer(memory.droppedOverflow)} / ${integer(memory.queued)} / ${integer(memory.requests)}`, ''],
      ],
    ),
  );
}
