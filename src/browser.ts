/**
 * The `<script>` entry: defines the `homing` global. `homing('init', options)` creates the
 * default tracker; `homing('track', ...)` and every other Tracker method call it. Calls the
 * snippet's stub recorded in `homing.q` before this file loaded are replayed in order, and a
 * script tag with `data-endpoint` initialises itself from its `data-` attributes.
 */
import { createTracker, type Tracker } from './tracker';
import type { TrackerOptions } from './options';

/** `homing(fn)` calls `fn(tracker)` once the tracker exists: how script-tag extras reach it. */
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

const homing = function (method: Call[0], ...args: unknown[]): unknown {
  try {
    if (method === 'init') {
      if (homing.tracker) return console.warn('[homing] init was called twice; the first options stay');
      homing.tracker = createTracker(args[0] as TrackerOptions);
      const earlier = waiting;
      waiting = [];
      earlier.forEach((call) => homing(...call));
      return;
    }
    const tracker = homing.tracker;
    if (!tracker) return void waiting.push([method, ...args]);
    if (typeof method === 'function') return void method(tracker);
    const run = (tracker as unknown as Record<string, unknown>)[method];
    if (typeof run !== 'function') return console.warn(`[homing] unknown method ${JSON.stringify(method)}`);
    return run(...args);
  } catch (error) {
    console.warn('[homing]', error);
  }
} as HomingGlobal;
homing.createTracker = createTracker;

const endpoint = script?.dataset.endpoint;
if (endpoint) homing('init', optionsFromDataset(script!.dataset, endpoint));
for (const call of Array.from(stub?.q ?? [])) homing(...(Array.from(call) as Call));
scope.homing = homing;

/** `data-batch-size="20"` becomes `{ batchSize: 20 }`; numbers and booleans are parsed. */
function optionsFromDataset(dataset: DOMStringMap, endpoint: string): TrackerOptions {
  const options: Record<string, unknown> = { endpoint };
  for (const [key, value] of Object.entries(dataset)) {
    if (key === 'endpoint' || value === undefined) continue;
    options[key] = value === 'true' ? true : value === 'false' ? false : value !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
  }
  return options as unknown as TrackerOptions;
}
