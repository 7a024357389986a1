/**
 * "Fresh page, default options": homing as a site's users meet it. Each run is a new browser
 * context (its own renderer process, so cold code and no JIT, an empty IndexedDB and no HTTP
 * cache) that loads dist/homing.iife.js from a `<script src>` and calls
 * `homing.createTracker({ endpoint })` in the next inline script, with nothing else set.
 *
 * A burst run then waits 300 ms, makes `calls` track() calls in one task, and watches the 2 s
 * after it: `longtask` entries, and the main thread's time read from the DevTools protocol
 * (main-thread-meter.mjs); a profiled burst run, apart, gives the script time.
 * A same-task run calls track() 100 times right after createTracker(), as a snippet's init and a
 * page's first events do.
 *
 * The page is cross-origin isolated (see isolated-server.mjs), so `performance.now()` is precise
 * to 5 µs; each run records the resolution it saw. One call is still close to that resolution,
 * so only the first call is timed alone: the other figures time runs of calls.
 */
import { fileURLToPath } from 'node:url';
import { startIsolatedServer } from './isolated-server.mjs';
import { createMainThreadMeter } from './main-thread-meter.mjs';
import { summarize } from './stats.mjs';

const DIST_DIR = fileURLToPath(new URL('../../dist/', import.meta.url));
/** The case: a page that calls track() a little after homing was set up. */
const WAIT_BEFORE_BURST_MS = 300;
/** How long after the burst its follow-up work (serialization, store, sending) is watched. */
const WATCH_AFTER_BURST_MS = 2_000;
/**
 * The script-time snapshot before the burst is taken this long before it, so that the protocol's
 * round trip is over when the burst starts; the page is idle in between.
 */
const SNAPSHOT_LEAD_MS = 20;
/** The first calls, timed as one run: what a page that tracks a few events pays. */
const FIRST_CALLS = 100;
/** A run that has not reported by then is stuck; the bench fails rather than waits forever. */
const RUN_TIMEOUT_MS = 30_000;
/** The page's function that holds the burst's loop: a profile's samples inside it are the calls themselves. */
const BURST_LOOP_FUNCTION = 'benchBurstLoop';

/**
 * `runs` rounds; each round opens one fresh context per burst size, one same-task context, and one
 * context that repeats the first burst size under the CPU profiler (for script time only). They are
 * interleaved so that the machine's noise falls on all of them alike.
 * @param {import('@playwright/test').Browser} browser
 */
export async function measureFreshPages(browser, { runs, bursts }) {
  const server = await startIsolatedServer({ distDir: DIST_DIR, pages: { '/fresh.html': FRESH_PAGE } });
  const burstUrl = (calls) => `${server.url}fresh.html?mode=burst&calls=${calls}`;
  const perRun = { sameTask: [], profiled: [], ...Object.fromEntries(bursts.map((calls) => [calls, []])) };
  try {
    for (let run = 0; run < runs; run++) {
      for (const calls of bursts) perRun[calls].push(await runInFreshContext(browser, burstUrl(calls)));
      perRun.sameTask.push(await runInFreshContext(browser, `${server.url}fresh.html?mode=same-task`));
      perRun.profiled.push(await runInFreshContext(browser, burstUrl(bursts[0]), { profile: true }));
    }
  } finally {
    await server.close();
  }
  return {
    runs,
    waitBeforeBurstMs: WAIT_BEFORE_BURST_MS,
    watchAfterBurstMs: WATCH_AFTER_BURST_MS,
    firstCalls: FIRST_CALLS,
    batchesReceived: server.batches.requests,
    sameTask: summarizeSameTask(perRun.sameTask),
    bursts: bursts.map((calls) => summarizeBurst(calls, perRun[calls])),
    profiled: summarizeProfiled(bursts[0], perRun.profiled),
  };
}

/** Opens a new context on `url`, waits for the page's report, adds the meter's figures, and closes the context. */
async function runInFreshContext(browser, url, { profile = false } = {}) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const meter = await createMainThreadMeter(context, { profile });
    let report;
    const reported = new Promise((resolve) => (report = resolve));
    await context.exposeBinding('benchReport', (_source, result) => report(result));
    await page.goto(url, { waitUntil: 'commit' });
    await meter.attach(page);
    let timer;
    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`bench: no report from ${url} within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([reported, timedOut]);
      if (result.mode !== 'burst') return result;
      return { ...result, mainThread: meter.measure(BURST_LOOP_FUNCTION) };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await context.close();
  }
}

function summarizeSameTask(runs) {
  return {
    ...commonFigures(runs),
    firstCallMs: summarize(runs.map((run) => run.firstCallMs)),
    firstCallsMicrosPerCall: summarize(runs.map((run) => (run.firstCallsMs * 1000) / FIRST_CALLS)),
  };
}

function summarizeBurst(calls, runs) {
  const afterBurst = (pick) => summarize(runs.map((run) => pick(run.mainThread) - run.burstMs));
  return {
    calls,
    ...commonFigures(runs),
    burstStartMs: summarize(runs.map((run) => run.burstStartMs)),
    firstCallMs: summarize(runs.map((run) => run.firstCallMs)),
    firstCallsMicrosPerCall: summarize(runs.map((run) => (run.firstCallsMs * 1000) / FIRST_CALLS)),
    microsPerCall: summarize(runs.map((run) => (run.burstMs * 1000) / calls)),
    burstMs: summarize(runs.map((run) => run.burstMs)),
    longTaskCount: summarize(runs.map((run) => run.longTasks.length)),
    longestTaskMs: summarize(runs.map((run) => Math.max(0, ...run.longTasks))),
    runsWithLongTasks: runs.filter((run) => run.longTasks.length > 0).length,
    delivered: summarize(runs.map((run) => run.delivered)),
    dropped: summarize(runs.map((run) => run.dropped)),
    // The meter's window runs from just before the burst to 2 s after it; the loop is taken out.
    taskAfterMs: afterBurst((mainThread) => mainThread.taskMs),
    blinkScriptAfterMs: afterBurst((mainThread) => mainThread.blinkScriptMs),
  };
}

/** Script time after the burst from the CPU profile: the JavaScript outside the loop's frames. */
function summarizeProfiled(calls, runs) {
  const figure = (pick) => summarize(runs.map((run) => pick(run.mainThread)));
  return {
    calls,
    runs: runs.length,
    scriptAfterMs: figure((mainThread) => mainThread.outsideMs),
    loopScriptMs: figure((mainThread) => mainThread.insideMs),
    gcMs: figure((mainThread) => mainThread.gcMs),
    microsPerCallProfiled: summarize(runs.map((run) => (run.burstMs * 1000) / calls)),
  };
}

function commonFigures(runs) {
  return {
    runs: runs.length,
    createMs: summarize(runs.map((run) => run.createMs)),
    crossOriginIsolated: runs.every((run) => run.crossOriginIsolated),
    timerResolutionMs: Math.max(...runs.map((run) => run.timerResolutionMs)),
    storeUsed: [...new Set(runs.map((run) => run.storeUsed))].join(', '),
  };
}

/**
 * Runs in the page, in the inline script right after the IIFE's: the whole timeline of one run,
 * reported through `benchReport` when it is over. Reads `mode` and `calls` from the query string.
 */
function runFreshPage({ waitBeforeBurstMs, watchAfterBurstMs, snapshotLeadMs, firstCalls }) {
  const query = new URLSearchParams(location.search);
  const mode = query.get('mode');
  const calls = Number(query.get('calls'));
  const now = () => performance.now();
  const trackOne = (tracker, i) => tracker.track('Bench', { i, plan: 'pro' });

  const createStarted = now();
  const tracker = homing.createTracker({ endpoint: '/v1/batch' });
  const createdAt = now();
  const result = { mode, createMs: createdAt - createStarted, crossOriginIsolated: globalThis.crossOriginIsolated === true };

  if (mode === 'same-task') {
    Object.assign(result, trackFirstCalls(tracker, firstCalls));
    setTimeout(() => finish(), 0);
    return;
  }

  // The meter's first mark comes a little before the burst, so that its round trip is over by then.
  setTimeout(async () => {
    await benchMainThreadMark();
    setTimeout(benchBurstLoop, Math.max(0, createdAt + waitBeforeBurstMs - now()));
  }, Math.max(0, waitBeforeBurstMs - snapshotLeadMs));

  function benchBurstLoop() {
    const started = now();
    const first = trackFirstCalls(tracker, firstCalls);
    for (let i = firstCalls; i < calls; i++) trackOne(tracker, i);
    const ended = now();
    Object.assign(result, first, { burstStartMs: started - createdAt, burstMs: ended - started });
    setTimeout(async () => {
      await benchMainThreadMark();
      const windowEnd = ended + watchAfterBurstMs;
      result.longTasks = benchLongTasks()
        .filter((task) => task.start + task.duration >= started && task.start <= windowEnd)
        .map((task) => task.duration);
      finish();
    }, watchAfterBurstMs);
  }

  function trackFirstCalls(tracker, count) {
    const started = now();
    trackOne(tracker, 0);
    const firstEnded = now();
    for (let i = 1; i < count; i++) trackOne(tracker, i);
    return { firstCallMs: firstEnded - started, firstCallsMs: now() - started };
  }

  function finish() {
    const stats = tracker.stats();
    Object.assign(result, { storeUsed: stats.store, delivered: stats.delivered, dropped: stats.dropped });
    result.timerResolutionMs = timerResolutionMs();
    benchReport(result);
  }

  /** The smallest step `performance.now()` takes here, watched for a few milliseconds. */
  function timerResolutionMs() {
    const deadline = now() + 5;
    let smallest = Infinity;
    let last = now();
    while (last < deadline) {
      const next = now();
      if (next > last) smallest = Math.min(smallest, next - last);
      last = next;
    }
    return smallest;
  }
}

/**
 * Runs in the page, first of all: records every long task from the start. `benchLongTasks()`
 * returns them all, those whose callback has not run yet included.
 */
function observeLongTasks() {
  const tasks = [];
  const keep = (entries) => entries.forEach((entry) => tasks.push({ start: entry.startTime, duration: entry.duration }));
  const observer = new PerformanceObserver((list) => keep(list.getEntries()));
  observer.observe({ type: 'longtask', buffered: true });
  window.benchLongTasks = () => {
    keep(observer.takeRecords());
    return tasks;
  };
}

const FRESH_PAGE = [
  '<!doctype html><meta charset="utf-8"><title>homing, fresh page</title>',
  `<script>(${observeLongTasks})()</script>`,
  '<script src="/dist/homing.iife.js"></script>',
  `<script>(${runFreshPage})(${JSON.stringify({
    waitBeforeBurstMs: WAIT_BEFORE_BURST_MS,
    watchAfterBurstMs: WATCH_AFTER_BURST_MS,
    snapshotLeadMs: SNAPSHOT_LEAD_MS,
    firstCalls: FIRST_CALLS,
  })})</script>`,
].join('\n');
