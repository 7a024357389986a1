import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HomingEvent } from '../src/capture/event';
import type { Plugin } from '../src/capture/plugins';
import { utm, utmPlugin } from '../src/extras/utm';
import { shutDownTestTrackers, startTestTracker } from './support/tracker-harness';
import { settle, useFakeTime } from './support/time';

afterEach(async () => {
  await shutDownTestTrackers();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const addPlan: Plugin = { name: 'plan', enrich: (event) => ({ ...event, properties: { ...event.properties, plan: 'pro' } }) };

describe('plugins and beforeSend', () => {
  it('enrich every event, in order, before it is queued', async () => {
    useFakeTime();
    const seen: string[] = [];
    const order: Plugin = { name: 'order', enrich: (event) => void seen.push(String(event.properties?.plan)) };
    const { tracker, requests } = await startTestTracker({ plugins: [addPlan, order] });

    tracker.track('Signed Up');
    await tracker.flush();

    expect(seen).toEqual(['pro']);
    expect(requests[0]!.payload.batch[0]!.properties).toEqual({ plan: 'pro' });
  });

  it('redact with beforeSend, which runs after the plugins', async () => {
    useFakeTime();
    const redact = (event: HomingEvent) => ({ ...event, properties: { ...event.properties, email: '[redacted]' } });
    const { tracker, requests } = await startTestTracker({ plugins: [addPlan], beforeSend: redact });

    tracker.track('Signed Up', { email: 'ada@example.com' });
    await tracker.flush();

    expect(requests[0]!.payload.batch[0]!.properties).toEqual({ email: '[redacted]', plan: 'pro' });
  });

  it('drop an event when they return null, counting it as filtered, not lost', async () => {
    useFakeTime();
    const { tracker, requests } = await startTestTracker({ beforeSend: (event) => (event.event === 'Noise' ? null : event) });

    tracker.track('Noise');
    tracker.track('Signal');
    await tracker.flush();

    expect(requests.flatMap((request) => request.names)).toEqual(['Signal']);
    expect(tracker.stats()).toMatchObject({ filtered: 1, dropped: 0, delivered: 1 });
  });

  it('skip a plugin that throws, report it, and still track the event', async () => {
    useFakeTime();
    const broken: Plugin = { name: 'broken', enrich: () => { throw new Error('boom'); } };
    const { tracker, requests, errors } = await startTestTracker({ plugins: [broken, addPlan] });

    expect(() => tracker.track('Signed Up')).not.toThrow();
    await tracker.flush();

    expect(requests[0]!.payload.batch[0]!.properties).toEqual({ plan: 'pro' });
    expect(errors.map((error) => [error.code, error.message])).toEqual([['plugin_error', expect.stringContaining('plugin broken threw')]]);
  });

  it('name an unnamed plugin that throws by its place in the list', async () => {
    useFakeTime();
    const unnamed: Plugin = {
      enrich: () => {
        throw new Error('boom');
      },
    };
    const { tracker, requests, errors } = await startTestTracker({ plugins: [addPlan, unnamed] });

    tracker.track('Signed Up');
    await tracker.flush();

    expect(requests[0]!.payload.batch[0]!.properties).toEqual({ plan: 'pro' });
    expect(errors.map((error) => [error.code, error.message])).toEqual([['plugin_error', expect.stringContaining('plugin 1')]]);
  });

  it.each([
    ['an empty object', {}],
    ['a string', 'Signed Up'],
    ['an event without its messageId', { type: 'track', event: 'Signed Up', anonymousId: 'a', timestamp: 'now', context: {} }],
    ['an event of an unknown type', { type: 'alias', messageId: 'm', anonymousId: 'a', timestamp: 'now', context: {} }],
  ])('make that one event invalid when one returns %s: dropped, counted and reported', async (_what, returned) => {
    useFakeTime();
    const spoil: Plugin = { name: 'spoil', enrich: (event) => (event.event === 'Spoilt' ? (returned as HomingEvent) : event) };
    const { tracker, requests, dropped } = await startTestTracker({ plugins: [spoil] });

    tracker.track('Spoilt');
    tracker.track('Fine');
    await tracker.flush();

    expect(requests.flatMap((request) => request.names)).toEqual(['Fine']);
    expect(tracker.stats()).toMatchObject({ dropped: 1, droppedBy: expect.objectContaining({ invalid: 1 }), filtered: 0, delivered: 1 });
    expect(dropped.map(({ reason, events }) => [reason, events.map((event) => event.event)])).toEqual([['invalid', ['Spoilt']]]);
  });

  it('let on("track") tap every event as it is tracked', async () => {
    useFakeTime();
    const { tracker } = await startTestTracker({ plugins: [addPlan] });
    const tapped: HomingEvent[] = [];
    tracker.on('track', (event) => tapped.push(event));

    tracker.track('Signed Up');
    tracker.page('Pricing');
    await settle();

    expect(tapped.map((event) => [event.type, event.properties?.plan])).toEqual([['track', 'pro'], ['page', 'pro']]);
  });
});

describe('the utm plugin (homing/utm)', () => {
  it('is exported as utm, and as utmPlugin, its name in the core', () => {
    expect(utmPlugin).toBe(utm);
    expect(utm().name).toBe('utm');
  });

  it("adds the page URL's utm_ parameters as context.campaign", async () => {
    useFakeTime();
    vi.stubGlobal('location', { search: '?utm_source=news&utm_medium=email&utm_campaign=launch&utm_term=notes&utm_content=cta&x=1' });
    const { tracker, requests } = await startTestTracker({ plugins: [utm()] });

    tracker.track('Signed Up');
    await tracker.flush();

    expect(requests[0]!.payload.batch[0]!.context.campaign).toEqual({ source: 'news', medium: 'email', name: 'launch', term: 'notes', content: 'cta' });
  });

  it('adds nothing where the URL has no utm_ parameters', async () => {
    useFakeTime();
    vi.stubGlobal('location', { search: '?q=1' });
    const { tracker, requests } = await startTestTracker({ plugins: [utm()] });

    tracker.track('Signed Up');
    await tracker.flush();

    expect(requests[0]!.payload.batch[0]!.context.campaign).toBeUndefined();
  });
});
