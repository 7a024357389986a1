/**
 * The tracker's options: their defaults, and checking what the host page passed. A bad value
 * never throws: it is replaced by the default and described, naming the option.
 */
import type { Clock } from './clock';
import { errorMessage } from './sanitize';
import { DEFAULT_MAX_ATTEMPTS } from './retry';
import type { EventStore } from './store/event-store';
import type { Transport } from './transport/transport';
import { KEEPALIVE_BUDGET_BYTES } from './transport/keepalive-budget';

export type StoreOption = 'auto' | 'indexeddb' | 'localstorage' | 'memory' | EventStore;
export type TransportOption = 'auto' | 'fetch' | 'beacon' | Transport;

export interface TrackerOptions {
  /** The collector's URL, absolute or relative to the page. Required. */
  endpoint: string;
  /** Sent in every request body as `writeKey`, for collectors that want one. */
  writeKey?: string;
  /** Where queued events persist. Default 'auto': IndexedDB, then localStorage, then memory. */
  store?: StoreOption;
  /** Names homing's IndexedDB database and localStorage keys. Default 'homing'. */
  storageKey?: string;
  /** Events held at most; beyond it the oldest are dropped. Default 1000. */
  maxQueueSize?: number;
  /** Events per request at most. Default 50. */
  batchSize?: number;
  /** Bytes per request body at most. Default 61,440: a whole batch fits the 64 KiB keepalive budget. */
  maxBatchBytes?: number;
  /** Milliseconds an event may wait for its batch to fill before it is sent anyway. Default 5000. */
  flushInterval?: number;
  /** Attempts per event before it is given up and counted. Default 20. */
  maxAttempts?: number;
  /** Milliseconds before a request without an answer is aborted and retried. Default 10,000. */
  timeout?: number;
  /** How requests are sent. Default 'auto': fetch, with sendBeacon as the page goes away. */
  transport?: TransportOption;
  /** The fetch to use. Default: the global fetch. */
  fetch?: typeof fetch;
  /** Time source and timers. Default: Date.now and the global timers. */
  clock?: Clock;
  /** Random numbers in [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Logs every decision to the console. Default false. */
  debug?: boolean;
}

export interface ResolvedOptions extends Required<Omit<TrackerOptions, 'writeKey' | 'fetch' | 'clock'>> {
  writeKey?: string;
  fetch?: typeof fetch;
  clock?: Clock;
}

export const DEFAULTS = {
  store: 'auto',
  storageKey: 'homing',
  maxQueueSize: 1000,
  batchSize: 50,
  maxBatchBytes: 61_440,
  flushInterval: 5_000,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  timeout: 10_000,
  transport: 'auto',
  debug: false,
} as const;

/** A batch must hold at least one event of the largest size allowed. */
const MIN_BATCH_BYTES = 1_024;

type Problems = string[];

export function resolveOptions(input: unknown): { options?: ResolvedOptions; problems: Problems } {
  try {
    return readOptions(input);
  } catch (error) {
    // A getter or a proxy that throws: nothing in these options can be trusted.
    return { problems: [`options could not be read (${errorMessage(error)})`] };
  }
}

function readOptions(input: unknown): { options?: ResolvedOptions; problems: Problems } {
  const problems: Problems = [];
  if (!input || typeof input !== 'object') {
    return { problems: [`options must be an object with at least an endpoint, got ${typeof input}`] };
  }
  const given = input as Record<string, unknown>;

  const integer = (name: keyof typeof DEFAULTS & keyof TrackerOptions, min: number, max: number): number => {
    const value = given[name];
    const fallback = DEFAULTS[name] as number;
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    problems.push(`${name} must be an integer from ${min} to ${max}, got ${show(value)}; using ${fallback}`);
    return fallback;
  };
  const oneOf = <T>(name: 'store' | 'transport', allowed: readonly string[], isObject: (v: object) => boolean): T => {
    const value = given[name];
    if (value === undefined) return DEFAULTS[name] as T;
    if ((typeof value === 'string' && allowed.includes(value)) || (value && typeof value === 'object' && isObject(value))) return value as T;
    problems.push(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')} or an object of its interface, got ${show(value)}; using '${DEFAULTS[name]}'`);
    return DEFAULTS[name] as T;
  };
  const optionalFunction = <T>(name: string): T | undefined => {
    const value = given[name];
    if (value === undefined || typeof value === 'function') return value as T | undefined;
    problems.push(`${name} must be a function, got ${show(value)}; using the default`);
    return undefined;
  };

  const endpoint = given.endpoint;
  if (typeof endpoint !== 'string' || !endpoint.trim()) {
    problems.push(`endpoint is required: the collector's URL as a string, got ${show(endpoint)}`);
    return { problems };
  }
  const writeKey = given.writeKey;
  if (writeKey !== undefined && typeof writeKey !== 'string') problems.push(`writeKey must be a string, got ${show(writeKey)}; sending none`);
  const storageKey = given.storageKey;
  if (storageKey !== undefined && (typeof storageKey !== 'string' || !storageKey)) {
    problems.push(`storageKey must be a non-empty string, got ${show(storageKey)}; using '${DEFAULTS.storageKey}'`);
  }
  const clock = given.clock as Partial<Clock> | undefined;
  const clockOk = clock === undefined || (typeof clock?.now === 'function' && typeof clock.setTimeout === 'function' && typeof clock.clearTimeout === 'function');
  if (!clockOk) problems.push(`clock must have now, setTimeout and clearTimeout functions; using the system clock`);

  const options: ResolvedOptions = {
    endpoint,
    writeKey: typeof writeKey === 'string' ? writeKey : undefined,
    store: oneOf<StoreOption>('store', ['auto', 'indexeddb', 'localstorage', 'memory'], (v) => 'load' in v && 'write' in v),
    storageKey: typeof storageKey === 'string' && storageKey ? storageKey : DEFAULTS.storageKey,
    maxQueueSize: integer('maxQueueSize', 1, 1_000_000),
    batchSize: integer('batchSize', 1, 1_000),
    maxBatchBytes: integer('maxBatchBytes', MIN_BATCH_BYTES, KEEPALIVE_BUDGET_BYTES),
    flushInterval: integer('flushInterval', 0, 3_600_000),
    maxAttempts: integer('maxAttempts', 1, 1_000),
    timeout: integer('timeout', 100, 600_000),
    transport: oneOf<TransportOption>('transport', ['auto', 'fetch', 'beacon'], (v) => 'send' in v),
    fetch: optionalFunction<typeof fetch>('fetch'),
    clock: clockOk ? (clock as Clock | undefined) : undefined,
    random: optionalFunction<() => number>('random') ?? Math.random,
    debug: given.debug === true,
  };
  if (given.debug !== undefined && typeof given.debug !== 'boolean') problems.push(`debug must be true or false, got ${show(given.debug)}`);
  return { options, problems };
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint' || typeof value === 'symbol') return String(value);
  return value === null || typeof value !== 'object' ? String(value) : Array.isArray(value) ? 'an array' : 'an object';
}
