/**
 * The tracker's options, their defaults, and checking what the host page passed. A bad value
 * never throws: it is replaced by its default and reported with the option's name.
 */
import type { Clock } from './clock';
import { show } from './errors';
import type { HomingEvent } from './capture/event';
import type { Plugin } from './capture/plugins';
import type { EventStore } from './store/event-store';
import type { Transport } from './transport/transport';
import type { Engine } from './delivery/engine';

export type StoreOption = 'auto' | 'indexeddb' | 'localstorage' | 'memory' | EventStore;
export type TransportOption = 'auto' | 'fetch' | 'beacon' | Transport;

export interface TrackerOptions {
  /** The collector's URL, absolute or relative to the page. Required. */
  endpoint: string;
  /** The key the collector knows the site by; how it travels depends on `engine`. */
  writeKey?: string;
  /** Which collector speaks at `endpoint`: decides how the writeKey travels. Default 'segment'. */
  engine?: Engine;
  /** Where queued events persist. Default 'auto': IndexedDB, then localStorage, then memory. */
  store?: StoreOption;
  /** Names homing's IndexedDB database, localStorage keys and Web Locks. Default 'homing'. */
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
  /** Milliseconds before a request (or a store) without an answer is given up on. Default 10,000. */
  timeout?: number;
  /** How requests are sent. Default 'auto': fetch, with sendBeacon as the page goes away. */
  transport?: TransportOption;
  /** The fetch to use. Default: the global fetch. */
  fetch?: typeof fetch;
  /** Time source and timers. Default: Date.now and the global timers. */
  clock?: Clock;
  /** Random numbers in [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Logs every decision to the console, in the debug build. Default false. */
  debug?: boolean;
  /** Run on every event, in order, to enrich, redact or drop it (return null). Default none. */
  plugins?: Plugin[];
  /** Runs after the plugins: returns the event to queue, or null to drop it. Default none. */
  beforeSend?: (event: HomingEvent) => HomingEvent | null | undefined | void;
  /** Treat a browser's Global Privacy Control signal as an opt-out (until optIn()). Default false. */
  honorGlobalPrivacyControl?: boolean;
  /** Milliseconds without events after which a new session starts. Default 1,800,000 (30 minutes). */
  sessionTimeout?: number;
  /**
   * 'pending': until optIn(), events wait in memory only (nothing is stored or sent: storage
   * itself may need consent); optOut() deletes them. Default 'granted'.
   */
  consent?: 'granted' | 'pending';
}

export type ResolvedOptions = Required<Omit<TrackerOptions, 'writeKey' | 'fetch' | 'clock' | 'random' | 'beforeSend'>> &
  Pick<TrackerOptions, 'writeKey' | 'fetch' | 'clock' | 'random' | 'beforeSend'>;

export const DEFAULTS = {
  endpoint: '',
  writeKey: '',
  engine: 'segment',
  store: 'auto',
  storageKey: 'homing',
  maxQueueSize: 1000,
  batchSize: 50,
  maxBatchBytes: 61_440,
  flushInterval: 5_000,
  maxAttempts: 20,
  timeout: 10_000,
  transport: 'auto',
  fetch: undefined,
  clock: undefined,
  random: undefined,
  debug: false,
  plugins: [],
  beforeSend: undefined,
  honorGlobalPrivacyControl: false,
  sessionTimeout: 1_800_000,
  consent: 'granted',
} as const;

type Name = keyof typeof DEFAULTS;

/** Whole numbers, from–to. A batch must hold at least one event of the largest size allowed (1 KiB). */
const RANGES: Partial<Record<Name, [number, number]>> = {
  maxQueueSize: [1, 1_000_000],
  batchSize: [1, 1_000],
  maxBatchBytes: [1_024, 65_536],
  flushInterval: [0, 3_600_000],
  maxAttempts: [1, 1_000],
  timeout: [100, 600_000],
  sessionTimeout: [60_000, 86_400_000],
};

/** The strings an option may be; `store` and `transport` may also be an object with these methods. */
const CHOICES: Partial<Record<Name, string[]>> = {
  engine: ['segment', 'rudderstack', 'jitsu'],
  store: ['auto', 'indexeddb', 'localstorage', 'memory'],
  transport: ['auto', 'fetch', 'beacon'],
  consent: ['granted', 'pending'],
};
const METHODS: Partial<Record<Name, string[]>> = {
  store: ['load', 'write'],
  transport: ['send'],
  clock: ['now', 'setTimeout', 'clearTimeout'],
};
const FUNCTIONS: Name[] = ['fetch', 'random', 'beforeSend'];

const hasMethods = (value: any, names: string[]) => typeof value === 'object' && names.every((name) => typeof value?.[name] === 'function');

/** Whether `value` may stand for option `name`. */
function isValid(name: Name, value: any): boolean {
  const range = RANGES[name];
  if (range) return Number.isInteger(value) && value >= range[0] && value <= range[1];
  if (CHOICES[name]?.includes(value)) return true;
  if (METHODS[name]) return hasMethods(value, METHODS[name]!);
  if (FUNCTIONS.includes(name)) return typeof value === 'function';
  if (name === 'plugins') return Array.isArray(value) && value.every((plugin) => typeof plugin?.enrich === 'function');
  if (name === 'endpoint' || name === 'storageKey') return typeof value === 'string' && !!value.trim();
  return !CHOICES[name] && typeof value === typeof DEFAULTS[name];
}

export interface OptionProblem {
  option: string;
  /** Debug build only. */
  sentence?: string | false;
}

/** Checks every option. Without a usable `endpoint` the tracker is disabled (its endpoint stays ''). */
export function resolveOptions(input: unknown): { options: ResolvedOptions; problems: OptionProblem[] } {
  const options: Record<string, unknown> = { ...DEFAULTS };
  const problems: OptionProblem[] = [];
  try {
    for (const name of Object.keys(DEFAULTS) as Name[]) {
      const value = (input as Record<string, unknown>)[name];
      if (isValid(name, value)) options[name] = value;
      else if (value !== undefined || name === 'endpoint') problems.push({ option: name, sentence: __DEBUG__ && describeProblem(name, value) });
    }
  } catch (error) {
    // Not an object, or a getter or proxy that throws: nothing in these options can be trusted.
    options.endpoint = '';
    problems.push({ option: 'options', sentence: __DEBUG__ && `options must be an object with at least an endpoint, got ${show(input)}; the tracker is disabled` });
  }
  return { options: options as ResolvedOptions, problems };
}

/** Debug build only: what the option must be, in words. */
function expectedOf(name: Name): string {
  const range = RANGES[name];
  if (range) return `an integer from ${range[0]} to ${range[1]}`;
  const methods = METHODS[name] && `an object with ${METHODS[name]!.join(', ')}`;
  if (CHOICES[name]) return `${CHOICES[name]!.map(show).join(', ')}${methods ? ` or ${methods}` : ''}`;
  if (methods) return `${methods} functions`;
  if (name === 'plugins') return 'an array of plugins ({ name, enrich })';
  if (FUNCTIONS.includes(name)) return 'a function';
  if (name === 'endpoint') return "the collector's URL as a non-empty string";
  return typeof DEFAULTS[name] === 'boolean' ? 'true or false' : 'a non-empty string';
}

/** Debug build only: the whole sentence. */
function describeProblem(name: Name, value: unknown): string {
  const instead = name === 'endpoint' ? 'the tracker is disabled' : `using ${DEFAULTS[name] === undefined ? 'the default' : show(DEFAULTS[name])}`;
  return `${name} must be ${expectedOf(name)}, got ${show(value)}; ${instead}`;
}
