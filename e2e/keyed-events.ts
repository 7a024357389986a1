/**
 * Events told apart by what the page tracked, not by the messageIds the tracker reports back:
 * each event is `track(name, { seq })`, and its key at the collector is `name#seq`. A scenario
 * can then track and leave the page in one task, before the tracker has said anything, and
 * still count every event the collector accepted, missed or saw twice.
 */
import type { Frame, Page } from '@playwright/test';
import { eventually, receivedEvents, type Collector, type Tally } from './helpers';

/** `name#seq`, the same on both sides of the wire. */
export function eventKey(name: string, seq: number): string {
  return `${name}#${seq}`;
}

/** The keys of `count` events named `name`, in the order they are tracked. */
export function keysOf(name: string, count: number): string[] {
  return Array.from({ length: count }, (_, seq) => eventKey(name, seq));
}

/** What each tracked event carries besides its `seq`, e.g. padding to make events large. */
export interface TrackedShape {
  /** Characters of filler in `properties.pad`; none by default. */
  padChars?: number;
}

/** Tracks `count` events named `name` through the `homing` global, in one task; returns their keys. */
export async function trackKeyed(target: Page | Frame, count: number, name: string, shape: TrackedShape = {}): Promise<string[]> {
  await target.evaluate(
    ([count, name, padChars]) => {
      const pad = 'p'.repeat(padChars);
      for (let seq = 0; seq < count; seq++) window.homing('track', name, padChars ? { seq, pad } : { seq });
    },
    [count, name, shape.padChars ?? 0] as const,
  );
  return keysOf(name, count);
}

/** The key of an event as the collector accepted it, or undefined for an event not tracked this way. */
function keyAtCollector(event: { event?: string; properties?: Record<string, unknown> }): string | undefined {
  const seq = event.properties?.seq;
  return event.event !== undefined && typeof seq === 'number' ? eventKey(event.event, seq) : undefined;
}

/**
 * The collector's view of the keyed events: `duplicates` are every copy beyond the first, the
 * collector's own count (same messageId again) plus any event that came back under a new messageId.
 */
export function tallyKeys(collector: Collector, expected: readonly string[]): Tally {
  const wanted = new Set(expected);
  const messageIdsByKey = new Map<string, Set<string>>();
  let unexpected = 0;
  for (const event of receivedEvents(collector)) {
    const key = keyAtCollector(event);
    if (key === undefined || !wanted.has(key)) {
      unexpected += 1;
      continue;
    }
    const ids = messageIdsByKey.get(key) ?? new Set<string>();
    ids.add(event.messageId);
    messageIdsByKey.set(key, ids);
  }
  const reissued = [...messageIdsByKey.values()].reduce((sum, ids) => sum + ids.size - 1, 0);
  return {
    unique: messageIdsByKey.size,
    duplicates: collector.received().duplicates + reissued,
    missing: expected.filter((key) => !messageIdsByKey.has(key)).length,
    unexpected,
  };
}

/** The keys in a request body as it was sent (fetch, sendBeacon or fetchLater), empty for another body. */
export function keysInBody(body: string): string[] {
  try {
    const batch = (JSON.parse(body) as { batch?: Array<{ event?: string; properties?: Record<string, unknown> }> }).batch ?? [];
    return batch.map(keyAtCollector).filter((key): key is string => key !== undefined);
  } catch {
    return [];
  }
}

/** Milliseconds from `since` until every key reached the collector, or undefined if they had not within `timeout`. */
export async function keysArrivedAfter(collector: Collector, keys: readonly string[], since: number, timeout: number): Promise<number | undefined> {
  const arrived = await eventually(() => tallyKeys(collector, keys).missing === 0, timeout);
  return arrived ? Math.round(performance.now() - since) : undefined;
}

/** The keys of every batch `page` sent (fetch, sendBeacon), as its requests carried them. */
export function recordSentKeys(page: Page): string[] {
  const sent: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/v1/batch')) sent.push(...keysInBody(request.postData() ?? ''));
  });
  return sent;
}
