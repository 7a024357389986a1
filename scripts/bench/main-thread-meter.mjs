/**
 * What a page's main thread did between two moments the page itself picks: the page awaits
 * `benchMainThreadMark()` (a Playwright binding) at the start and at the end, and the meter reads
 * the DevTools protocol's counters at each mark, with a CPU profile in between when asked.
 *
 * Which counter says what, measured on Chromium 156:
 * - `Performance.getMetrics` TaskDuration: time the main thread spent in any task (script,
 *   garbage collection, style, IPC). It includes everything, so it is an upper bound.
 * - `Performance.getMetrics` ScriptDuration: only the script Blink runs itself (a timer, an event
 *   handler, a `<script>`). It misses promise callbacks run from a microtask checkpoint, such as
 *   the `then` of a fetch or of a promise-wrapped IndexedDB request: 100 ms of such work reads as 0.
 *   Kept in the results for reference, not shown.
 * - A CPU profile (`Profiler`, one sample per {@link SAMPLING_INTERVAL_MICROS} µs) sees all
 *   JavaScript, promise callbacks included; it is the script-time figure. Sampling slows the page
 *   a little, so profiled runs are kept apart from the timed ones.
 */
import { splitProfile } from './cpu-profile.mjs';

/** Fine enough for a 2 s window (20,000 samples), coarse enough to cost the page little. */
const SAMPLING_INTERVAL_MICROS = 100;

/**
 * Installs the binding on `context`; call `attach(page)` once the page's navigation has committed
 * (its renderer process is final then). `measure()` gives the two marks' readings.
 * @param {import('@playwright/test').BrowserContext} context
 */
export async function createMainThreadMeter(context, { profile }) {
  let attached;
  const session = new Promise((resolve) => (attached = resolve));
  const readings = [];
  let cpuProfile;
  await context.exposeBinding('benchMainThreadMark', async () => {
    const cdp = await session;
    if (profile && readings.length === 0) await cdp.send('Profiler.start');
    if (profile && readings.length === 1) cpuProfile = (await cdp.send('Profiler.stop')).profile;
    const { metrics } = await cdp.send('Performance.getMetrics');
    const seconds = (name) => metrics.find((entry) => entry.name === name)?.value ?? Number.NaN;
    readings.push({ taskMs: seconds('TaskDuration') * 1000, blinkScriptMs: seconds('ScriptDuration') * 1000 });
  });
  return {
    async attach(page) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      if (profile) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_MICROS });
      }
      attached(cdp);
    },
    /**
     * Milliseconds between the two marks: all main-thread tasks, Blink's script, and with a
     * profile the JavaScript inside and outside the frames of `functionName`, and GC.
     */
    measure(functionName) {
      if (readings.length < 2) throw new Error('bench: the page did not mark its start and end');
      const [start, end] = readings;
      const figures = { taskMs: end.taskMs - start.taskMs, blinkScriptMs: end.blinkScriptMs - start.blinkScriptMs };
      if (!cpuProfile) return figures;
      const split = splitProfile(cpuProfile, functionName);
      return { ...figures, profiledJavaScriptMs: split.javascript, insideMs: split.inside, outsideMs: split.outside, gcMs: split.gc };
    },
  };
}
