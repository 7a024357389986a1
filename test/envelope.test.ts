import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnvelope } from '../src/delivery/envelope';
import type { StoredEvent } from '../src/store/event-store';
import { eventNumbered } from './support/events';

const SENT_AT = Date.UTC(2030, 0, 1, 12, 30);
const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** Event `n`, named `name`, serialized as the queue stores it, its bytes counted in UTF-8. */
function storedNamed(n: number, name: string): StoredEvent {
  const json = JSON.stringify({ ...eventNumbered(n), event: name, properties: { name } });
  return { id: `e${n}`, seq: n, json, bytes: utf8(json), attempts: 0 };
}

const NAMES = ['Signed Up', 'Inscrit·e à l’offre', '注册完成', 'Paid 💳', 'line\nbreak "quoted" \\ slash', '\u2028'];

describe('the envelope', () => {
  it('is the Segment envelope: the batch, sentAt as ISO 8601, and no writeKey unless given', () => {
    const events = [storedNamed(1, 'Signed Up'), storedNamed(2, 'Paid')];

    const { body } = createEnvelope(undefined).wrap(events, SENT_AT);

    expect(JSON.parse(body)).toEqual({ batch: events.map((event) => JSON.parse(event.json)), sentAt: '2030-01-01T12:30:00.000Z' });
  });

  it('carries the writeKey in the body when given one', () => {
    const { body } = createEnvelope('wk_123').wrap([storedNamed(1, 'Signed Up')], SENT_AT);

    expect(JSON.parse(body)).toMatchObject({ writeKey: 'wk_123', sentAt: '2030-01-01T12:30:00.000Z' });
  });

  it('joins the events’ JSON unchanged, in batch order, never serializing them again', () => {
    const events = NAMES.map((name, i) => storedNamed(i + 1, name));

    const { body } = createEnvelope(undefined).wrap(events, SENT_AT);

    expect(body).toBe(`{"batch":[${events.map((event) => event.json).join(',')}],"sentAt":"2030-01-01T12:30:00.000Z"}`);
  });

  it('counts the UTF-8 bytes of the body exactly, with non-ASCII events', () => {
    const events = NAMES.map((name, i) => storedNamed(i + 1, name));

    const { body, bytes } = createEnvelope(undefined).wrap(events, SENT_AT);

    expect(bytes).toBe(utf8(body));
  });

  it('counts the UTF-8 bytes of the body exactly, with a non-ASCII writeKey', () => {
    const { body, bytes } = createEnvelope('clé-秘密-🔑"').wrap([storedNamed(1, '注册完成'), storedNamed(2, 'Paid 💳')], SENT_AT);

    expect(JSON.parse(body).writeKey).toBe('clé-秘密-🔑"');
    expect(bytes).toBe(utf8(body));
  });

  it('counts the bytes of a body of one event exactly', () => {
    const { body, bytes } = createEnvelope('wk').wrap([storedNamed(1, 'Paid 💳')], SENT_AT);

    expect(bytes).toBe(utf8(body));
  });

  it('counts the bytes exactly whatever the events and the writeKey', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 8 }), fc.option(fc.string({ unit: 'grapheme', minLength: 1 })), (names, writeKey) => {
        const { body, bytes } = createEnvelope(writeKey ?? undefined).wrap(
          names.map((name, i) => storedNamed(i + 1, name)),
          SENT_AT,
        );
        expect(bytes).toBe(utf8(body));
      }),
    );
  });

  it('leaves room for itself: events that fill room(limit, count) make a body within limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })), (count, writeKey) => {
        const limit = 61_440;
        const envelope = createEnvelope(writeKey ?? undefined);
        const room = envelope.room(limit, count);
        // `count` events sharing the room between them, their recorded bytes adding up to it exactly.
        const events = Array.from({ length: count }, (_, i) => {
          const share = Math.floor(room / count) + (i < room % count ? 1 : 0);
          const base = storedNamed(i + 1, '');
          const padded = (pad: string) => JSON.stringify({ ...JSON.parse(base.json), properties: { pad } });
          const json = padded('x'.repeat(share - utf8(padded(''))));
          return { ...base, json, bytes: utf8(json) };
        });
        expect(events.reduce((sum, event) => sum + event.bytes, 0)).toBe(room);

        const { body, bytes } = envelope.wrap(events, SENT_AT);

        expect(bytes).toBe(utf8(body));
        expect(bytes).toBeLessThanOrEqual(limit);
      }),
    );
  });

  it('leaves less room for events when it carries a writeKey, by the bytes of the key', () => {
    const withoutKey = createEnvelope(undefined).room(10_000, 10);
    const withKey = createEnvelope('秘密').room(10_000, 10);

    expect(withoutKey - withKey).toBe(utf8(',"writeKey":"秘密"'));
  });

  it('leaves a byte for each comma between events', () => {
    const envelope = createEnvelope(undefined);

    expect(envelope.room(10_000, 1) - envelope.room(10_000, 11)).toBe(10);
  });
});
