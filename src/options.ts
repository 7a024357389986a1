/**
 * The tracker's options: their defaults, and checking what the host page passed. A bad value
 * never throws: it is replaced by the default and described, naming the option.
 */
import type { Clock } from './clock';
import type { HomingEvent } from './event';
import { SESSION_TIMEOUT_MS } from './identity';
import type { Plugin } from './plugins';
import { errorMessage, show } from './sanitize';
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
  /**
   * Gzips request bodies with the native CompressionStream (and `Content-Encoding: gzip`) where
   * the runtime has one; never as the page goes away, where there is no time to. Default false:
   * the collector must accept gzip.
   */
  compress?: boolean;
  /** Run on every event, in order, to enrich, redact or drop it (return null). Default none. */
  plugins?: Plugin[];
  /** Runs after the plugins: returns the event to queue, or null to drop it. Default none. */
  beforeSend?: (event: HomingEvent) => HomingEvent | null | undefined | void;
  /** Share of anonymous users whose events are kept, from 0 to 1, decided per user. Default 1. */
  sampleRate?: number;
  /** Treat a browser's Global Privacy Control signal as an opt-out (until optIn()). Default false. */
  honorGlobalPrivacyControl?: boolean;
  /** Milliseconds without events after which a new session starts. Default 1,800,000 (30 minutes). */
  sessionTimeout?: number;
}

export interface ResolvedOptions extends Required<Omit<TrackerOptions, 'writeKey' | 'fetch' | 'clock' | 'random' | 'beforeSend'>> {
  writeKey?: string;
  beforeSend?: TrackerOptions['beforeSend'];
  /** Undefined: Math.random, read when it is needed. */
  random?: () => number;
  fetch?: typeof fetch;
  clock?: Clock;
}

export const DEFAULTS = {
  endpoint: '',
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
  compress: false,
  plugins: [],
  sampleRate: 1,
  honorGlobalPrivacyControl: false,
  sessionTimeout: SESSION_TIMEOUT_MS,
} as const;

/** A batch must hold at least one event of the largest size allowed. */
const MIN_BATCH_BYTES = 1_024;

/** How one option is checked: what it must be, in words; the test; what is used instead, in words. */
type Rule = [expected: string, isValid: (value: any) => boolean, instead?: string];

const integer = (min: number, max: number): Rule => [`an integer from ${min} to ${max}`, (value) => Number.isInteger(value) && value >= min && value <= max];
const isString = (value: unknown) => typeof value === 'string';
const isFunction = (value: unknown) => typeof value === 'function';
const hasMethods = (value: any, names: string[]) => names.every((name) => typeof value?.[name] === 'function');
const oneOfOr = (names: string[], what: string, methods: string[]): Rule => [
  `${names.map(show).join(', ')} or ${what}`,
  (value) => names.includes(value) || (typeof value === 'object' && hasMethods(value, methods)),
];

/** Every option, in the order they are checked. `endpoint` is the only one without a default. */
const RULES: Record<keyof TrackerOptions, Rule> = {
  endpoint: ["the collector's URL as a non-empty string", (value) => isString(value) && !!value.trim(), 'the tracker is disabled'],
  writeKey: ['a string', isString, 'sending none'],
  store: oneOfOr(['auto', 'indexeddb', 'localstorage', 'memory'], 'an EventStore', ['load', 'write']),
  storageKey: ['a non-empty string', (value) => isString(value) && !!value],
  maxQueueSize: integer(1, 1_000_000),
  batchSize: integer(1, 1_000),
  maxBatchBytes: integer(MIN_BATCH_BYTES, KEEPALIVE_BUDGET_BYTES),
  flushInterval: integer(0, 3_600_000),
  maxAttempts: integer(1, 1_000),
  timeout: integer(100, 600_000),
  transport: oneOfOr(['auto', 'fetch', 'beacon'], 'a Transport', ['send']),
  fetch: ['a function', isFunction, 'using the global fetch'],
  clock: ['an object with now, setTimeout and clearTimeout functions', (value) => hasMethods(value, ['now', 'setTimeout', 'clearTimeout']), 'using the system clock'],
  random: ['a function', isFunction, 'using Math.random'],
  debug: ['true or false', (value) => typeof value === 'boolean'],
  plugins: ['an array of plugins ({ name, enrich })', (value) => Array.isArray(value) && value.every((plugin) => isFunction(plugin?.enrich)), 'using none'],
  beforeSend: ['a function', isFunction, 'using none'],
  sampleRate: ['a number from 0 to 1', (value) => typeof value === 'number' && value >= 0 && value <= 1],
  honorGlobalPrivacyControl: ['true or false', (value) => typeof value === 'boolean'],
  sessionTimeout: integer(60_000, 86_400_000),
  compress: ['true or false', (value) => typeof value === 'boolean'],
};

/** Checks every option against its rule. Without a usable `endpoint` (empty) the tracker is disabled. */
export function resolveOptions(input: unknown): { options: ResolvedOptions; problems: string[] } {
  const options: Record<string, unknown> = { ...DEFAULTS };
  const problems: string[] = [];
  if (!input || typeof input !== 'object') {
    problems.push(`options must be an object with at least an endpoint, got ${show(input)}; the tracker is disabled`);
  } else {
    try {
      for (const [name, [expected, isValid, instead]] of Object.entries(RULES)) {
        const value = (input as Record<string, unknown>)[name];
        if (isValid(value)) options[name] = value;
        else if (value !== undefined || name === 'endpoint') {
          problems.push(`${name} must be ${expected}, got ${show(value)}; ${instead ?? `using ${show(options[name])}`}`);
        }
      }
    } catch (error) {
      // A getter or a proxy that throws: nothing in these options can be trusted.
      problems.push(`options could not be read (${errorMessage(error)}); the tracker is disabled`);
      options.endpoint = '';
    }
  }
  return { options: options as unknown as ResolvedOptions, problems };
}

