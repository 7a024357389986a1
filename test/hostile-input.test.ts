/**
 * Hostile properties and names (design.md invariant 6: no public call throws; bad input is
 * dropped or repaired with a clear reason). Each case is tracked between two ordinary events:
 * nothing escapes track(), the value is repaired or the event refused with a reason through
 * on('error') that names the path, and the ordinary events arrive untouched.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { utf8Length } from '../src/bytes';
import type { HomingEvent } from '../src/capture/event';
import { MAX_EVENT_BYTES } from '../src/capture/event';
import type { JsonObject } from '../src/capture/snapshot';
import { createLocalStorageStub } from './support/local-storage-stub';
import { nameOf } from './support/recording-transport';
import { settle, useFakeTime } from './support/time';
import { shutDownTestTrackers, startTestTracker, type HarnessOptions } from './support/tracker-harness';

beforeEach(() => {
  useFakeTime();
  vi.stubGlobal('localStorage', createLocalStorageStub());
});

afterEach(async () => {
  await shutDownTestTrackers();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const BEFORE = { step: 1, note: 'tracked before' };
const AFTER = { step: 2, note: 'tracked after' };

/**
 * Tracks `before`, then runs `hostile` (which must not throw), then tracks `after`, and flushes.
 * Returns what arrived, by name, and what was reported.
 */
async function trackBetween(hostile: (track: (name: unknown, properties?: unknown) => void) => void, options: HarnessOptions = {}) {
  const harness = await startTestTracker(options);
  const { tracker } = harness;
  const track = (name: unknown, properties?: unknown) => tracker.track(name as string, properties as Record<string, unknown>);
  tracker.track('before', BEFORE);
  expect(() => hostile(track)).not.toThrow();
  tracker.track('after', AFTER);
  await tracker.flush();
  const sent = harness.requests.flatMap((request) => request.payload.batch);
  return {
    ...harness,
    sent,
    names: sent.map(nameOf),
    /** The properties of the event named "Case" as the collector parsed them. */
    caseProperties: () => sent.find((event) => event.event === 'Case')!.properties as JsonObject,
    reported: (code: string) => harness.errors.filter((error) => error.code === code),
  };
}

type Outcome = Awaited<ReturnType<typeof trackBetween>>;

/** The ordinary events went through untouched, around the hostile one. */
function expectNeighboursDelivered(outcome: Outcome, caseArrived = true) {
  expect(outcome.names).toEqual(caseArrived ? ['before', 'Case', 'after'] : ['before', 'after']);
  expect(outcome.sent[0]!.properties).toEqual(BEFORE);
  expect(outcome.sent.at(-1)!.properties).toEqual(AFTER);
  expect(outcome.tracker.stats()).toMatchObject({ delivered: caseArrived ? 3 : 2, queued: 0 });
}

/** One `invalid_property` report whose message names every fragment (a path, a reason). */
function expectRepairReported(outcome: Outcome, ...fragments: string[]) {
  const reported = outcome.reported('invalid_property');
  expect(reported).toHaveLength(1);
  for (const fragment of fragments) expect(reported[0]!.message).toContain(fragment);
  expect(outcome.errors).toEqual(reported);
}

function expectNothingReported(outcome: Outcome) {
  expect(outcome.errors).toEqual([]);
}

/** `depth` objects nested under `key`, built without recursion. */
function nestedObjects(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (let i = 0; i < depth; i++) node = node.a = {} as Record<string, unknown>;
  return root;
}

describe('hostile property values', () => {
  it('replaces a circular reference by "[Circular]", naming its path', async () => {
    const node: Record<string, unknown> = { name: 'node' };
    node.self = node;

    const outcome = await trackBetween((track) => track('Case', { node }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ node: { name: 'node', self: '[Circular]' } });
    expectRepairReported(outcome, 'properties.node.self', 'circular');
  });

  it('keeps an object seen twice without a cycle (a shared reference is not circular)', async () => {
    const shared = { id: 7 };

    const outcome = await trackBetween((track) => track('Case', { first: shared, second: [shared] }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ first: { id: 7 }, second: [{ id: 7 }] });
    expectNothingReported(outcome);
  });

  it('sends a BigInt as its decimal string, naming its path', async () => {
    const outcome = await trackBetween((track) => track('Case', { big: 2n ** 70n }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ big: '1180591620717411303424' });
    expectRepairReported(outcome, 'properties.big', 'BigInt');
  });

  it('drops a Symbol value, naming its path', async () => {
    const outcome = await trackBetween((track) => track('Case', { ok: 1, symbol: Symbol('s') }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ ok: 1 });
    expectRepairReported(outcome, 'properties.symbol', 'symbol');
  });

  it('drops a property keyed by a Symbol, and says so', async () => {
    const outcome = await trackBetween((track) => track('Case', { ok: 1, [Symbol('secret')]: 'hidden' }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ ok: 1 });
    expectRepairReported(outcome, 'properties', 'Symbol(secret)');
  });

  it('drops a function, naming its path', async () => {
    const outcome = await trackBetween((track) => track('Case', { ok: 1, callback: () => 1 }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ ok: 1 });
    expectRepairReported(outcome, 'properties.callback', 'function');
  });

  it('sends a valid Date as its ISO 8601 string', async () => {
    const at = new Date(Date.UTC(2030, 5, 1, 12));

    const outcome = await trackBetween((track) => track('Case', { at }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ at: '2030-06-01T12:00:00.000Z' });
    expectNothingReported(outcome);
  });

  it('sends an invalid Date as null, as JSON.stringify does', async () => {
    const outcome = await trackBetween((track) => track('Case', { at: new Date('not a date') }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ at: null });
    expectNothingReported(outcome);
  });

  it('sends a Map as an object of its entries and a Set as an array', async () => {
    const map = new Map<unknown, unknown>([['plan', 'pro'], [2, 'two'], ['nested', new Set(['a'])]]);

    const outcome = await trackBetween((track) => track('Case', { map, set: new Set([1, 'one']) }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ map: { plan: 'pro', 2: 'two', nested: ['a'] }, set: [1, 'one'] });
    expectNothingReported(outcome);
  });

  it('sends a typed array as an array of numbers, repairing the NaN in a Float64Array', async () => {
    const outcome = await trackBetween((track) => track('Case', { bytes: new Uint8Array([1, 2, 255]), floats: new Float64Array([0.5, NaN]) }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ bytes: [1, 2, 255], floats: [0.5, null] });
    expectRepairReported(outcome, 'properties.floats[1]', 'NaN');
  });

  it('sends NaN and ±Infinity as null, naming each path', async () => {
    const outcome = await trackBetween((track) => track('Case', { nan: NaN, up: Infinity, down: -Infinity }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ nan: null, up: null, down: null });
    expectRepairReported(outcome, 'properties.nan', 'properties.up', 'properties.down', 'Infinity');
  });

  it('sends -0 as 0', async () => {
    const outcome = await trackBetween((track) => track('Case', { zero: -0 }));

    expectNeighboursDelivered(outcome);
    expect(Object.is(outcome.caseProperties().zero, 0)).toBe(true);
    expect(outcome.requests[0]!.body).toContain('"zero":0');
    expectNothingReported(outcome);
  });

  it('cuts objects nested 10,000 deep at 32 levels, naming where', async () => {
    const outcome = await trackBetween((track) => track('Case', { deep: nestedObjects(10_000) }));

    expectNeighboursDelivered(outcome);
    // 32 levels of objects, `properties` included, then the cut.
    let node = outcome.caseProperties().deep as Record<string, unknown>;
    let levels = 2;
    while (typeof node.a === 'object') (node = node.a as Record<string, unknown>), levels++;
    expect(node.a).toBe('[Too deep]');
    expect(levels).toBe(32);
    expectRepairReported(outcome, `properties.deep${'.a'.repeat(31)}`, 'nested deeper than 32 levels');
  });

  it('cuts arrays nested 10,000 deep at 32 levels, naming where', async () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 10_000; i++) deep = [deep];

    const outcome = await trackBetween((track) => track('Case', { deep }));

    expectNeighboursDelivered(outcome);
    expect(JSON.stringify(outcome.caseProperties().deep)).toBe(`${'['.repeat(31)}"[Too deep]"${']'.repeat(31)}`);
    expectRepairReported(outcome, `properties.deep${'[0]'.repeat(31)}`, 'nested deeper than 32 levels');
  });

  it('drops the value of a getter that throws, naming its path and the error', async () => {
    const hostile = {
      ok: 1,
      get secret(): never {
        throw new Error('access denied');
      },
    };

    const outcome = await trackBetween((track) => track('Case', { hostile }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ hostile: { ok: 1 } });
    expectRepairReported(outcome, 'properties.hostile.secret', 'access denied');
  });

  it('drops a Proxy that throws on every get, naming its path', async () => {
    const proxy = new Proxy(
      { a: 1 },
      {
        get() {
          throw new Error('get trap');
        },
      },
    );

    const outcome = await trackBetween((track) => track('Case', { ok: 1, proxy }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ ok: 1 });
    expectRepairReported(outcome, 'properties.proxy', 'get trap');
  });

  it('drops a Proxy that throws listing its keys, naming its path', async () => {
    const proxy = new Proxy(
      { a: 1 },
      {
        ownKeys() {
          throw new Error('ownKeys trap');
        },
      },
    );

    const outcome = await trackBetween((track) => track('Case', { ok: 1, proxy }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ ok: 1 });
    expectRepairReported(outcome, 'properties.proxy', 'ownKeys trap');
  });

  it('sends the event with empty properties when the properties object itself is a Proxy that throws', async () => {
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );

    const outcome = await trackBetween((track) => track('Case', proxy));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({});
    expectRepairReported(outcome, 'properties', 'trap');
  });

  it('sends a frozen object as it is, and leaves it as it was', async () => {
    const frozen = Object.freeze({ plan: 'pro', limits: Object.freeze({ seats: 3 }), tags: Object.freeze(['a']) });

    const outcome = await trackBetween((track) => track('Case', frozen));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ plan: 'pro', limits: { seats: 3 }, tags: ['a'] });
    expect(frozen).toEqual({ plan: 'pro', limits: { seats: 3 }, tags: ['a'] });
    expectNothingReported(outcome);
  });

  it('sends frozen properties to page() too, adding the page fields to a copy', async () => {
    const harness = await startTestTracker();
    const frozen = Object.freeze({ section: 'teams' });

    expect(() => harness.tracker.page('Pricing', frozen)).not.toThrow();
    await harness.tracker.flush();

    expect(harness.requests[0]!.payload.batch[0]).toMatchObject({ type: 'page', name: 'Pricing', properties: { section: 'teams' } });
    expect(harness.errors).toEqual([]);
  });

  it('drops a value whose toJSON throws, naming its path and the error', async () => {
    const outcome = await trackBetween((track) =>
      track('Case', {
        ok: 1,
        value: {
          toJSON() {
            throw new Error('toJSON exploded');
          },
        },
      }),
    );

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ ok: 1 });
    expectRepairReported(outcome, 'properties.value', 'toJSON exploded');
  });

  it('cuts a toJSON that returns a new object with a toJSON, forever, at the depth limit', async () => {
    const endless = (): unknown => ({ toJSON: endless });

    const outcome = await trackBetween((track) => track('Case', { ok: 1, value: endless() }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ ok: 1, value: '[Too deep]' });
    expectRepairReported(outcome, 'properties.value', 'nested deeper than 32 levels');
  });
});

describe('hostile keys', () => {
  it('keeps a "__proto__" key as a plain key on the wire, polluting no prototype', async () => {
    const properties = JSON.parse('{"__proto__": {"polluted": true}, "nested": {"__proto__": {"polluted": true}}}');

    const outcome = await trackBetween((track) => track('Case', properties));

    expectNeighboursDelivered(outcome);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    const body = outcome.requests[0]!.body;
    expect(body).toContain('"properties":{"__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}');
    const sent = outcome.caseProperties();
    expect(Object.getPrototypeOf(sent)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(sent, '__proto__')?.value).toEqual({ polluted: true });
    expectNothingReported(outcome);
  });

  it('keeps a "__proto__" key of a Map as a plain key, polluting no prototype', async () => {
    const outcome = await trackBetween((track) => track('Case', { map: new Map([['__proto__', { polluted: true }]]) }));

    expectNeighboursDelivered(outcome);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(outcome.requests[0]!.body).toContain('"map":{"__proto__":{"polluted":true}}');
  });

  it('keeps "constructor" and "prototype" keys as data, changing no constructor', async () => {
    const outcome = await trackBetween((track) => track('Case', { constructor: { prototype: { polluted: true } }, toString: 'text' }));

    expectNeighboursDelivered(outcome);
    expect(outcome.caseProperties()).toEqual({ constructor: { prototype: { polluted: true } }, toString: 'text' });
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(({}).constructor).toBe(Object);
    expectNothingReported(outcome);
  });

  it('sends events named "__proto__" and "constructor" like any other', async () => {
    const outcome = await trackBetween((track) => {
      track('__proto__', { a: 1 });
      track('constructor', { b: 2 });
    });

    expect(outcome.names).toEqual(['before', '__proto__', 'constructor', 'after']);
    expect(outcome.sent.map((event) => event.properties)).toEqual([BEFORE, { a: 1 }, { b: 2 }, AFTER]);
    expectNothingReported(outcome);
  });
});

describe('hostile event names', () => {
  const names: Array<[what: string, name: () => unknown, shown: string]> = [
    ['a number', () => 42, 'got 42'],
    ['null', () => null, 'got null'],
    ['undefined', () => undefined, 'got undefined'],
    ['an object', () => ({ toString: () => 'looks like a name' }), 'got an object'],
    ['an object whose toString throws', () => ({ toString: () => { throw new Error('no'); } }), 'got an object'],
    ['a Symbol', () => Symbol('name'), 'got Symbol(name)'],
    ['an empty string', () => '', 'got ""'],
    ['a blank string', () => '   ', 'got "   "'],
  ];

  it.each(names)('refuses a track() named by %s with a reason, and sends the others', async (_what, name, shown) => {
    const outcome = await trackBetween((track) => track(name(), { ok: 1 }));

    expectNeighboursDelivered(outcome, false);
    expect(outcome.errors).toEqual([expect.objectContaining({ code: 'invalid_event' })]);
    expect(outcome.errors[0]!.message).toContain('event name must be a non-empty string');
    expect(outcome.errors[0]!.message).toContain(shown);
    expect(outcome.tracker.stats()).toMatchObject({ received: 2, droppedBy: { invalid: 1 } });
  });

  it('refuses a name of a megabyte, saying it is too long, without repeating it', async () => {
    const outcome = await trackBetween((track) => track('x'.repeat(1 << 20)));

    expectNeighboursDelivered(outcome, false);
    expect(outcome.errors).toEqual([expect.objectContaining({ code: 'invalid_event', message: expect.stringContaining('longer than 200 characters') })]);
    expect(outcome.errors[0]!.message.length).toBeLessThan(200);
  });
});

describe('events over 32 KB', () => {
  /** The serialized size of the event the tracker queued for `track('Case', { padding })`. */
  async function sizeWithPadding(padding: number): Promise<number> {
    const { tracker } = await startTestTracker();
    let size = 0;
    tracker.on('queued', (event: HomingEvent) => (size = utf8Length(JSON.stringify(event))));
    tracker.track('Case', { padding: 'x'.repeat(padding) });
    await settle();
    return size;
  }

  /** An event that no cut string brings under the limit: four thousand keys weigh more than 32 KB on their own. */
  const manyKeys = () => Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`key${i}`, 'x'.repeat(8)]));

  it('cuts a 1 MB string property down to fit, says where, and sends the event', async () => {
    const outcome = await trackBetween((track) => track('Case', { blob: 'x'.repeat(1 << 20), kept: 'yes' }));

    expectNeighboursDelivered(outcome);
    const sent = outcome.sent.find((event) => event.event === 'Case')!;
    expect(utf8Length(JSON.stringify(sent))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(sent.properties).toMatchObject({ kept: 'yes', blob: expect.stringMatching(/^x{20000,}$/) });
    expect(outcome.errors).toEqual([expect.objectContaining({ code: 'invalid_property', path: 'properties.blob', reason: 'truncated' })]);
  });

  it('accepts an event of exactly 32 KB untouched and cuts one a byte larger', async () => {
    const padding = MAX_EVENT_BYTES - (await sizeWithPadding(0));
    expect(await sizeWithPadding(padding)).toBe(MAX_EVENT_BYTES);

    const outcome = await trackBetween((track) => {
      track('Case', { padding: 'x'.repeat(padding) });
      // A name as long as "Case": the one byte more is in the padding.
      track('Over', { padding: 'x'.repeat(padding + 1) });
    });

    expect(outcome.names).toEqual(['before', 'Case', 'Over', 'after']);
    expect((outcome.sent[1]!.properties!.padding as string).length).toBe(padding);
    expect((outcome.sent[2]!.properties!.padding as string).length).toBeLessThan(padding);
    expect(outcome.errors).toEqual([expect.objectContaining({ code: 'invalid_property', path: 'properties.padding', reason: 'truncated' })]);
  });

  it('drops an event that cannot be brought under 32 KB, with the event and its size, and sends the others', async () => {
    const outcome = await trackBetween((track) => track('Case', manyKeys()));

    expectNeighboursDelivered(outcome, false);
    expect(outcome.errors).toEqual([expect.objectContaining({ code: 'event_too_large' })]);
    expect(outcome.errors[0]!.message).toMatch(/track\("Case"\) dropped: \d{5} bytes, over the 32768-byte limit/);
    expect(outcome.tracker.stats()).toMatchObject({ received: 2, dropped: 1, droppedBy: { tooLarge: 1 } });
    expect(outcome.dropped).toEqual([{ reason: 'tooLarge', events: [expect.objectContaining({ event: 'Case' })], message: expect.stringMatching(/\d{5} bytes/) }]);
  });

  it('never blocks the queue: the events queued around a too-large one go in their batches', async () => {
    const outcome = await trackBetween(
      (track) => {
        for (let i = 0; i < 3; i++) track('Huge', manyKeys());
      },
      { batchSize: 2 },
    );
    await settle();

    expect(outcome.batches()).toEqual([['before', 'after']]);
    expect(outcome.tracker.stats()).toMatchObject({ delivered: 2, queued: 0, droppedBy: { tooLarge: 3 } });
    expect(outcome.reported('event_too_large')).toHaveLength(3);
  });

  it('counts a multi-byte string by its UTF-8 bytes, not its length, when it cuts it', async () => {
    // 12,000 characters of 3 bytes each: 36,000 bytes, though its length is well under 32,768.
    const outcome = await trackBetween((track) => track('Case', { text: '€'.repeat(12_000) }));

    expectNeighboursDelivered(outcome);
    const sent = outcome.sent.find((event) => event.event === 'Case')!;
    expect(utf8Length(JSON.stringify(sent))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(outcome.reported('invalid_property')).toEqual([expect.objectContaining({ path: 'properties.text', reason: 'truncated' })]);
  });
});

describe('page() and identify()', () => {
  it('repairs hostile traits as it repairs properties, and sends the identify', async () => {
    const traits: Record<string, unknown> = { email: 'ada@example.com', big: 1n };
    traits.self = traits;
    const harness = await startTestTracker();

    expect(() => harness.tracker.identify('user-1', traits)).not.toThrow();
    await harness.tracker.flush();

    expect(harness.requests[0]!.payload.batch[0]).toMatchObject({ type: 'identify', userId: 'user-1', traits: { email: 'ada@example.com', big: '1', self: '[Circular]' } });
    expect(harness.errorCodes()).toEqual(['invalid_property']);
    expect(harness.errors[0]!.message).toMatch(/traits\.big.*traits\.self|traits\.self.*traits\.big/);
  });

  it('refuses a page() named by something that is not a string, and sends the others', async () => {
    const { tracker, batches, errors } = await startTestTracker();

    tracker.track('before');
    expect(() => tracker.page({ not: 'a name' } as unknown as string)).not.toThrow();
    tracker.track('after');
    await tracker.flush();

    expect(batches()).toEqual([['before', 'after']]);
    expect(errors).toEqual([expect.objectContaining({ code: 'invalid_event', message: expect.stringContaining('page name must be a non-empty string, got an object') })]);
  });
});
