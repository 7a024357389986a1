import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveOptions, type TrackerOptions } from '../src/options';
import { createMemoryStore } from '../src/store/memory';
import type { Transport } from '../src/transport/transport';

const ENDPOINT = 'https://collector.example/v1/batch';
const resolve = (input: unknown) => resolveOptions(input);
const problemsOf = (input: unknown) => resolve(input).problems.map(({ option }) => option);

describe('resolveOptions', () => {
  it('gives every option its default when only the endpoint is given, and finds no problem', () => {
    const { options, problems } = resolve({ endpoint: ENDPOINT });

    expect(problems).toEqual([]);
    expect(options).toEqual({
      endpoint: ENDPOINT,
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
    });
  });

  it('keeps every good value it is given', () => {
    const store = createMemoryStore();
    const transport: Transport = { send: async () => ({ kind: 'delivered', status: 200 }) };
    const clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
    const random = () => 0.5;
    const fetch = (async () => new Response()) as typeof globalThis.fetch;
    const beforeSend = () => null;
    const plugins = [{ enrich: () => null }];
    const input: Required<TrackerOptions> = {
      endpoint: '/collect',
      writeKey: 'wk',
      engine: 'rudderstack',
      store,
      storageKey: 'shop',
      maxQueueSize: 10,
      batchSize: 5,
      maxBatchBytes: 1_024,
      flushInterval: 0,
      maxAttempts: 1,
      timeout: 100,
      transport,
      fetch,
      clock,
      random,
      debug: true,
      plugins,
      beforeSend,
      honorGlobalPrivacyControl: true,
      sessionTimeout: 60_000,
      consent: 'pending',
    };

    const { options, problems } = resolve(input);

    expect(problems).toEqual([]);
    expect(options).toEqual(input);
  });

  it.each<[string, unknown]>([
    ['endpoint', ''],
    ['endpoint', '   '],
    ['endpoint', 42],
    ['writeKey', 42],
    ['engine', 'mixpanel'],
    ['store', 'cookies'],
    ['store', { load: () => {} }],
    ['storageKey', ''],
    ['maxQueueSize', 0],
    ['maxQueueSize', 1.5],
    ['maxQueueSize', 1_000_001],
    ['batchSize', '50'],
    ['batchSize', 1_001],
    ['maxBatchBytes', 1_023],
    ['maxBatchBytes', 65_537],
    ['flushInterval', -1],
    ['flushInterval', Number.NaN],
    ['maxAttempts', 0],
    ['timeout', 99],
    ['timeout', Infinity],
    ['transport', 'xhr'],
    ['transport', {}],
    ['fetch', 'fetch'],
    ['clock', { now: () => 0 }],
    ['random', 0.5],
    ['debug', 'yes'],
    ['plugins', [{ name: 'no enrich' }]],
    ['plugins', { enrich: () => null }],
    ['beforeSend', true],
    ['honorGlobalPrivacyControl', 1],
    ['sessionTimeout', 59_999],
    ['consent', 'denied'],
  ])('replaces a bad %s (%o) by its default, and names it', (option, value) => {
    const { options, problems } = resolve({ endpoint: ENDPOINT, [option]: value });

    expect(problems).toEqual([{ option, sentence: expect.stringContaining(option) }]);
    expect(options[option as keyof typeof options]).toEqual(option === 'endpoint' ? '' : DEFAULTS[option as keyof typeof DEFAULTS]);
  });

  it('says in the debug build what the option must be, what it got and what it does instead', () => {
    const [problem] = resolve({ endpoint: ENDPOINT, batchSize: 0 }).problems;

    expect(problem!.sentence).toBe('batchSize must be an integer from 1 to 1000, got 0; using 50');
  });

  it('disables the tracker (endpoint stays empty) without an endpoint, naming endpoint', () => {
    const { options, problems } = resolve({});

    expect(options.endpoint).toBe('');
    expect(problems.map(({ option }) => option)).toEqual(['endpoint']);
    expect(problems[0]!.sentence).toMatch(/disabled/);
  });

  it('names every bad option, and keeps the good ones', () => {
    const { options } = resolve({ endpoint: ENDPOINT, batchSize: -1, maxQueueSize: 5, engine: 'nope' });

    expect(problemsOf({ endpoint: ENDPOINT, batchSize: -1, maxQueueSize: 5, engine: 'nope' })).toEqual(['engine', 'batchSize']);
    expect(options).toMatchObject({ batchSize: 50, maxQueueSize: 5, engine: 'segment' });
  });

  it('ignores an option left undefined: it is the default, not a problem', () => {
    expect(problemsOf({ endpoint: ENDPOINT, batchSize: undefined, store: undefined })).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
  ])('disables the tracker when the options are %s', (_what, input) => {
    const { options, problems } = resolve(input);

    expect(options.endpoint).toBe('');
    expect(problems.map(({ option }) => option)).toEqual(['options']);
  });

  it.each<[string, unknown]>([
    ['a string', ENDPOINT],
    ['a number', 42],
  ])('disables the tracker when the options are %s, which has no endpoint', (_what, input) => {
    const { options, problems } = resolve(input);

    expect(options.endpoint).toBe('');
    expect(problems.map(({ option }) => option)).toContain('endpoint');
  });

  it('disables the tracker when reading an option throws (a getter, a hostile proxy), naming options', () => {
    const hostile = {
      endpoint: ENDPOINT,
      get batchSize(): number {
        throw new Error('gotcha');
      },
    };

    const { options, problems } = resolve(hostile);

    expect(options.endpoint).toBe('');
    expect(problems.map(({ option }) => option)).toEqual(['options']);
    expect(problems[0]!.sentence).toMatch(/disabled/);
  });

  it('disables the tracker when the options are a proxy whose every read throws', () => {
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
      },
    );

    expect(resolve(proxy).options.endpoint).toBe('');
  });

  it('never throws, whatever it is given', () => {
    for (const input of [undefined, null, 0, '', Symbol('options'), () => {}, [], Object.create(null)]) expect(() => resolve(input)).not.toThrow();
  });
});
