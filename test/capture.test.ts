import { describe, expect, it } from 'vitest';
import { utf8Length } from '../src/bytes';
import { createBurst } from '../src/capture/burst';
import { capture, type Captured } from '../src/capture/capture';
import { createEnricher, type EnrichOptions } from '../src/capture/enrich';
import type { Environment } from '../src/capture/environment';
import type { HomingEvent, PageContext } from '../src/capture/event';
import type { Identity } from '../src/capture/identity';
import type { Plugin } from '../src/capture/plugins';
import { snapshot, type Repair } from '../src/capture/snapshot';
import { settle } from './support/time';

const AT = Date.UTC(2030, 0, 1, 9, 15, 30, 250);
const IDENTITY: Identity = { anonymousId: 'anon-1', sessionId: 'session-1' };
const PAGE: PageContext = { url: 'https://shop.example/pricing?plan=pro', path: '/pricing', referrer: 'https://search.example/', title: 'Pricing' };
const ENVIRONMENT: Environment = { library: { name: 'homing', version: '1.2.3' }, userAgent: 'TestAgent/1', locale: 'fr-FR', timezone: 'Europe/Paris' };

/** Random bytes counting up from `seed`, so messageIds are known and distinct. */
function countingRandom() {
  let call = 0;
  return () => Uint8Array.from({ length: 16 }, (_, i) => (call * 16 + i) & 0xff, call++);
}

/** An enricher as the tracker makes one, keeping what it reports. */
function enricherWith(options: Partial<EnrichOptions> = {}) {
  const repairs: Array<[string, Repair, string?]> = [];
  const pluginErrors: Array<[string, unknown]> = [];
  const enricher = createEnricher({
    environment: () => ENVIRONMENT,
    plugins: [],
    random: countingRandom(),
    maxEventBytes: 32 * 1024,
    onRepair: (...repair) => repairs.push(repair),
    onPluginError: (plugin, error) => pluginErrors.push([plugin, error]),
    ...options,
  });
  /** Captures carry no identity: the tracker gives each the user's identity at its time. */
  const enrich = (captured: Captured, identity: Identity = IDENTITY) => enricher(captured, identity);
  return { enrich, repairs, pluginErrors };
}

const track = (name: unknown, properties?: unknown) => capture('track', name, properties, AT, PAGE);

/** The event an enriched capture became, when it is ready to queue. */
function readyEvent(enriched: ReturnType<ReturnType<typeof createEnricher>>): { event: HomingEvent; json: string; bytes: number } {
  if (enriched.kind !== 'ready') throw new Error(`expected a ready event, got ${enriched.kind}`);
  return enriched.serialized;
}

describe('capture', () => {
  it('copies the properties at call time: changing the object later does not change the event', () => {
    const properties = { plan: 'pro', items: [{ sku: 'a' }] };

    const captured = track('Signed Up', properties);
    properties.plan = 'free';
    properties.items[0]!.sku = 'changed';
    properties.items.push({ sku: 'b' });

    expect(captured.bag).toEqual({ plan: 'pro', items: [{ sku: 'a' }] });
  });

  it('records the time and the page it was given, and not who the user is: that is resolved with the burst, at that time', () => {
    const captured = track('Signed Up');

    expect(captured).toMatchObject({ type: 'track', name: 'Signed Up', at: AT, page: PAGE });
    expect(captured).not.toHaveProperty('identity');
    expect(captured.invalid).toBeUndefined();
  });

  it.each([
    ['a missing name', undefined],
    ['an empty name', ''],
    ['a blank name', '   '],
    ['a number', 42],
    ['an object', { name: 'Signed Up' }],
    ['a name over 200 characters', 'x'.repeat(201)],
  ])('marks a track event with %s invalid, saying why', (_what, name) => {
    const captured = track(name);

    expect(captured.invalid).toEqual(expect.stringMatching(/event name/));
  });

  it('lets page() go without a name, and marks a page name that is not a string invalid', () => {
    expect(capture('page', undefined, {}, AT, PAGE).invalid).toBeUndefined();
    expect(capture('page', 7, {}, AT, PAGE).invalid).toEqual(expect.stringMatching(/page name/));
  });

  it('keeps the traits of identify() as its bag, without a name', () => {
    const captured = capture('identify', undefined, { email: 'ada@example.com' }, AT, undefined);

    expect(captured).toMatchObject({ type: 'identify', bag: { email: 'ada@example.com' } });
    expect(captured.invalid).toBeUndefined();
  });

  it('keeps the repairs the copy needed, with their paths, for the burst to report', () => {
    const captured = track('Signed Up', { count: 10n, when: Number.NaN, fn: () => {} });

    expect(captured.repairs).toEqual([
      ['properties.count', 'bigint'],
      ['properties.when', 'notFinite', 'NaN'],
      ['properties.fn', 'dropped', 'function'],
    ]);
    expect(captured.bag).toEqual({ count: '10', when: null });
  });
});

describe('snapshot', () => {
  it('replaces a circular reference and reports its path', () => {
    const repairs: string[] = [];
    const looped: Record<string, unknown> = { a: 1 };
    looped.self = looped;

    expect(snapshot(looped, 'properties', (path, reason) => repairs.push(`${path} ${reason}`))).toEqual({ a: 1, self: '[Circular]' });
    expect(repairs).toEqual(['properties.self circular']);
  });

  it('replaces what is not an object by {}, and says so', () => {
    const repairs: Repair[] = [];

    expect(snapshot('plan=pro', 'properties', (_path, reason) => repairs.push(reason))).toEqual({});
    expect(repairs).toEqual(['notObject']);
  });
});

describe('enrich', () => {
  it('gives the event its ids, the ISO timestamp of the capture time, and the context', () => {
    const { enrich } = enricherWith();

    const { event } = readyEvent(enrich(track('Signed Up', { plan: 'pro' })));

    expect(event).toEqual({
      type: 'track',
      event: 'Signed Up',
      properties: { plan: 'pro' },
      messageId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      anonymousId: 'anon-1',
      timestamp: '2030-01-01T09:15:30.250Z',
      context: { ...ENVIRONMENT, sessionId: 'session-1', page: PAGE },
    });
  });

  it('gives each event a messageId of its own', () => {
    const { enrich } = enricherWith();

    const ids = [1, 2, 3].map(() => readyEvent(enrich(track('Signed Up'))).event.messageId);

    expect(new Set(ids).size).toBe(3);
  });

  it('adds the userId once identify() set one', () => {
    const { enrich } = enricherWith();

    const { event } = readyEvent(enrich(track('Signed Up', {}), { ...IDENTITY, userId: 'user-7' }));

    expect(event.userId).toBe('user-7');
  });

  it("gives page() the page's properties, under what the host page passed", () => {
    const { enrich } = enricherWith();

    const { event } = readyEvent(enrich(capture('page', 'Pricing', { title: 'Custom title', variant: 'b' }, AT, PAGE)));

    expect(event).toMatchObject({ type: 'page', name: 'Pricing' });
    expect(event.properties).toEqual({ path: '/pricing', url: PAGE.url, referrer: PAGE.referrer, title: 'Custom title', variant: 'b' });
  });

  it('sends identify() traits, not properties', () => {
    const { enrich } = enricherWith();

    const { event } = readyEvent(enrich(capture('identify', undefined, { email: 'ada@example.com' }, AT, undefined)));

    expect(event.traits).toEqual({ email: 'ada@example.com' });
    expect(event.properties).toBeUndefined();
  });

  it('serializes the event once: its JSON and its UTF-8 bytes come with it', () => {
    const { enrich } = enricherWith();

    const { event, json, bytes } = readyEvent(enrich(track('Inscrit·e 注册', { note: 'café 💳' })));

    expect(JSON.parse(json)).toEqual(event);
    expect(bytes).toBe(Buffer.byteLength(json));
  });

  it('builds an invalid capture as an invalid event, with its reason, and runs no plugin on it', () => {
    let ran = false;
    const { enrich } = enricherWith({ plugins: [{ enrich: (event) => ((ran = true), event) }] });

    const enriched = enrich(track(''));

    expect(enriched).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/event name/), event: { type: 'track' } });
    expect(ran).toBe(false);
  });

  it('reports the repairs of the capture', () => {
    const { enrich, repairs } = enricherWith();

    enrich(track('Signed Up', { count: 10n }));

    expect(repairs).toEqual([['properties.count', 'bigint']]);
  });
});

describe('plugins, in enrich', () => {
  it('may replace the event', () => {
    const tag: Plugin = { name: 'tag', enrich: (event) => ({ ...event, properties: { ...event.properties, tagged: true } }) };
    const { enrich } = enricherWith({ plugins: [tag] });

    expect(readyEvent(enrich(track('Signed Up'))).event.properties).toEqual({ tagged: true });
  });

  it('may drop the event by returning null: it is filtered, by that plugin', () => {
    const { enrich } = enricherWith({ plugins: [{ name: 'consent', enrich: () => null }] });

    expect(enrich(track('Signed Up'))).toEqual({ kind: 'filtered', by: 'consent' });
  });

  it('make the event invalid when one returns something that cannot be sent', () => {
    const { enrich } = enricherWith({ plugins: [{ name: 'broken', enrich: () => ({ type: 'track' }) as HomingEvent }] });

    expect(enrich(track('Signed Up'))).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/plugin broken/) });
  });

  it('are skipped, and reported, when one throws', () => {
    const failure = new Error('boom');
    const { enrich, pluginErrors } = enricherWith({
      plugins: [
        {
          enrich: () => {
            throw failure;
          },
        },
      ],
    });

    expect(enrich(track('Signed Up')).kind).toBe('ready');
    expect(pluginErrors).toEqual([['0', failure]]);
  });

  it('may add a BigInt: it is repaired, reported, and the event is serialized', () => {
    const addBig: Plugin = { name: 'big', enrich: (event) => ({ ...event, properties: { ...event.properties, big: 12345678901234567890n as unknown as string } }) };
    const { enrich, repairs } = enricherWith({ plugins: [addBig] });

    const { event, json } = readyEvent(enrich(track('Signed Up')));

    expect(JSON.parse(json).properties.big).toBe('12345678901234567890');
    expect(event.properties?.big).toBe('12345678901234567890');
    expect(repairs).toEqual([['event.properties.big', 'bigint']]);
  });
});

describe('an event over maxEventBytes', () => {
  const MAX_EVENT_BYTES = 2_000;

  it("has its longest strings cut until it fits, each cut reported as 'truncated' with its path", () => {
    const { enrich, repairs } = enricherWith({ maxEventBytes: MAX_EVENT_BYTES });

    const { json, bytes } = readyEvent(enrich(track('Signed Up', { note: 'x'.repeat(3_000), short: 'kept' })));

    expect(bytes).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(bytes).toBe(utf8Length(json));
    expect(JSON.parse(json).properties.short).toBe('kept');
    expect(repairs).toEqual([['properties.note', 'truncated', String(JSON.parse(json).properties.note.length)]]);
  });

  it('has multi-byte text cut until its UTF-8 bytes fit', () => {
    const { enrich, repairs } = enricherWith({ maxEventBytes: MAX_EVENT_BYTES });

    const { json, bytes } = readyEvent(enrich(track('Signed Up', { note: 'é'.repeat(1_200) })));

    expect(bytes).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(bytes).toBe(Buffer.byteLength(json));
    expect(JSON.parse(json).properties.note).toMatch(/^é+$/);
    expect(repairs.map(([path, reason]) => [path, reason])).toEqual([['properties.note', 'truncated']]);
  });

  it('is too large, and dropped, when cutting strings cannot make it fit', () => {
    const { enrich, repairs } = enricherWith({ maxEventBytes: MAX_EVENT_BYTES });
    const manyKeys = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`key${i}`, i]));

    const enriched = enrich(track('Signed Up', manyKeys));

    expect(enriched).toMatchObject({ kind: 'tooLarge', event: { event: 'Signed Up' } });
    expect((enriched as { bytes: number }).bytes).toBeGreaterThan(MAX_EVENT_BYTES);
    expect(repairs).toEqual([]);
  });
});

describe('the burst', () => {
  it('processes every pushed item once, in order, in a later task', async () => {
    const processed: number[][] = [];
    const burst = createBurst<number>((items) => processed.push(items));

    burst.push(1);
    burst.push(2);
    burst.push(3);
    expect(processed).toEqual([]);
    expect(burst.size).toBe(3);
    await settle();

    expect(processed).toEqual([[1, 2, 3]]);
    expect(burst.size).toBe(0);
  });

  it('runs at once when settled, and not again in its task', async () => {
    const processed: number[][] = [];
    const burst = createBurst<number>((items) => processed.push(items));
    burst.push(1);
    burst.push(2);

    burst.settle();
    expect(processed).toEqual([[1, 2]]);
    await settle();

    expect(processed).toEqual([[1, 2]]);
  });

  it('takes what is pushed after it ran into a burst of its own', async () => {
    const processed: number[][] = [];
    const burst = createBurst<number>((items) => processed.push(items));
    burst.push(1);
    await settle();

    burst.push(2);
    await settle();

    expect(processed).toEqual([[1], [2]]);
  });

  it('does nothing when settled with nothing pushed', () => {
    const processed: Captured[][] = [];
    createBurst<Captured>((items) => processed.push(items)).settle();

    expect(processed).toEqual([]);
  });
});
