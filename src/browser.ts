/**
 * The `<script>` entry: defines the `homing` global. `homing('init', options)` creates the
 * default tracker; `homing('track', ...)` and every other Tracker method call it; `homing(fn)`
 * calls `fn(tracker)` once there is one (how the extras' script files plug in). Calls the
 * snippet's stub recorded in `homing.q` before this file loaded are replayed in order, and a
 * script tag with `data-endpoint` initialises itself from its `data-` attributes.
 */
import { DEFAULTS, type TrackerOptions } from './options';
import { createTracker } from './tracker';
import type { Tracker } from './tracker-types';

type Call = [method: string | ((tracker: Tracker) => void), ...args: unknown[]];
interface HomingGlobal {
  (...call: Call): unknown;
  q?: ArrayLike<Call>;
  createTracker: typeof createTracker;
  tracker?: Tracker;
}

const scope = globalThis as unknown as { homing?: HomingGlobal; document?: Document };
const stub = scope.homing;
const script = scope.document?.currentScript as HTMLScriptElement | null | undefined;
/** Calls made before init, held until there is a tracker to take them. */
let waiting: Call[] = [];

const homing = function (method, ...args) {
  try {
    if (method === 'init') {
      if (homing.tracker) return;
      homing.tracker = createTracker(args[0] as TrackerOptions);
      const earlier = waiting;
      waiting = [];
      earlier.forEach((call) => homing(...call));
      return;
    }
    const tracker = homing.tracker;
    if (!tracker) return void waiting.push([method, ...args]);
    if (typeof method === 'function') return method(tracker);
    const run = (tracker as unknown as Record<string, unknown>)[method];
    if (typeof run === 'function') return run(...args);
  } catch {
    // A call from the host page never throws back into it.
  }
} as HomingGlobal;
homing.createTracker = createTracker;

const endpoint = script?.dataset.endpoint;
if (endpoint) homing('init', optionsFromDataset(script!.dataset));
for (const call of Array.from(stub?.q ?? [])) homing(...(Array.from(call) as Call));
scope.homing = homing;

/**
 * `data-batch-size="20"` becomes `{ batchSize: 20 }`: only options whose default is a number or
 * a boolean are parsed, so `data-write-key="12345"` stays the string it is.
 */
function optionsFromDataset(dataset: DOMStringMap): TrackerOptions {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(dataset)) {
    const type = typeof DEFAULTS[key as keyof typeof DEFAULTS];
    options[key] = type === 'number' ? Number(value) : type === 'boolean' ? value === 'true' : value;
  }
  return options as unknown as TrackerOptions;
}
