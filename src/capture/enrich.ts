/**
 * Turning what track() captured into the event that goes on the wire, once per burst: the ids,
 * the timestamp, the context, the plugins, and the JSON text, serialized once. The text is what
 * the queue stores and what every request body joins, so an event's size comes free.
 */
import { utf8Length } from '../bytes';
import type { Captured } from './capture';
import type { Environment } from './environment';
import type { HomingEvent } from './event';
import type { Identity } from './identity';
import { uuidV4, type RandomBytes } from './id';
import { runPlugins, type Plugin } from './plugins';
import { snapshot, type JsonObject, type JsonValue, type OnRepair } from './snapshot';

/** One event, serialized. */
export interface Serialized {
  event: HomingEvent;
  json: string;
  /** UTF-8 bytes of `json`. */
  bytes: number;
}

export type Enriched =
  | { kind: 'ready'; serialized: Serialized }
  | { kind: 'invalid'; event: HomingEvent; reason?: string }
  | { kind: 'filtered'; by: string }
  | { kind: 'tooLarge'; event: HomingEvent; bytes: number };

export interface EnrichOptions {
  environment: () => Environment;
  plugins: Plugin[];
  random: RandomBytes;
  maxEventBytes: number;
  onRepair: OnRepair;
  onPluginError: (plugin: string, error: unknown) => void;
}

/** Room kept when cutting strings, for the JSON escapes a cut can leave. */
const TRUNCATION_MARGIN = 64;
/** Multi-byte text may need a second cut; more rounds than this mean the event cannot fit. */
const MAX_TRUNCATION_ROUNDS = 3;

export function createEnricher(options: EnrichOptions): (captured: Captured, identity: Identity) => Enriched {
  let isoMs = NaN;
  let iso = '';
  /** A burst tracked in one millisecond shares one ISO string. */
  const timestamp = (ms: number) => (ms === isoMs ? iso : (iso = new Date((isoMs = ms)).toISOString()));

  return (captured, identity) => {
    const built = build(captured, identity, options.environment(), uuidV4(options.random), timestamp(captured.at));
    if (captured.invalid) return { kind: 'invalid', event: built, reason: captured.invalid === true ? undefined : captured.invalid };
    for (const repair of captured.repairs ?? []) options.onRepair(...repair);
    const outcome = runPlugins(options.plugins, built, options.onPluginError);
    if ('dropped' in outcome) return { kind: 'filtered', by: outcome.dropped };
    if ('invalid' in outcome) return { kind: 'invalid', event: built, reason: __DEBUG__ ? `plugin ${outcome.invalid} returned an event that cannot be sent` : undefined };
    const serialized = serialize(outcome.event, options.onRepair);
    if (serialized.bytes <= options.maxEventBytes) return { kind: 'ready', serialized };
    const cut = truncate(serialized, options.maxEventBytes, options.onRepair);
    return cut ? { kind: 'ready', serialized: cut } : { kind: 'tooLarge', event: serialized.event, bytes: serialized.bytes };
  };
}

function build({ type, name, bag, page }: Captured, identity: Identity, environment: Environment, messageId: string, timestamp: string): HomingEvent {
  const event: HomingEvent = {
    type,
    messageId,
    anonymousId: identity.anonymousId,
    timestamp,
    context: { ...environment, sessionId: identity.sessionId },
  };
  if (page) event.context.page = { ...page };
  if (identity.userId) event.userId = identity.userId;
  if (type === 'track') event.event = name as string;
  if (type === 'page' && name != null) event.name = name as string;
  if (type === 'identify') event.traits = bag;
  else event.properties = type === 'page' && page ? { path: page.path, url: page.url, referrer: page.referrer, title: page.title, ...bag } : bag;
  return event;
}

/** JSON text of an event; what a plugin added that JSON cannot carry (a BigInt, a cycle) is repaired first. */
export function serialize(event: HomingEvent, onRepair: OnRepair): Serialized {
  let json: string;
  try {
    json = JSON.stringify(event);
  } catch {
    event = snapshot(event, 'event', onRepair) as unknown as HomingEvent;
    json = JSON.stringify(event);
  }
  return { event, json, bytes: utf8Length(json) };
}

/**
 * Cuts the longest strings in the properties (or traits) until the event fits `maxBytes`;
 * undefined when even that is not enough (many keys, a huge context).
 */
function truncate({ event, bytes }: Serialized, maxBytes: number, onRepair: OnRepair): Serialized | undefined {
  const strings = stringsOf(event.properties ?? event.traits ?? {}, event.properties ? 'properties' : 'traits');
  strings.sort((a, b) => b.value.length - a.value.length);
  const cuts = new Map<string, number>();
  let serialized: Serialized | undefined;
  // A few rounds: a cut of `excess` UTF-16 units removes at least as many bytes, often more.
  for (let round = 0; round < MAX_TRUNCATION_ROUNDS && bytes > maxBytes; round++) {
    let excess = bytes - maxBytes + TRUNCATION_MARGIN;
    for (const string of strings) {
      if (excess <= 0) break;
      const length = Math.max(0, string.value.length - excess);
      excess -= string.value.length - length;
      string.value = string.value.slice(0, length);
      (string.holder as Record<string | number, JsonValue>)[string.key] = string.value;
      cuts.set(string.path, length);
    }
    serialized = serialize(event, onRepair);
    bytes = serialized.bytes;
  }
  if (!serialized || bytes > maxBytes) return undefined;
  // Reported only when the cuts saved the event: else it is dropped, and that is what is said.
  for (const [path, length] of cuts) onRepair(path, 'truncated', String(length));
  return serialized;
}

interface StringAt {
  holder: Record<string, JsonValue> | JsonValue[];
  key: string | number;
  path: string;
  value: string;
}

function stringsOf(object: JsonObject | JsonValue[], path: string, found: StringAt[] = []): StringAt[] {
  for (const [key, value] of Object.entries(object)) {
    const at = Array.isArray(object) ? `${path}[${key}]` : `${path}.${key}`;
    if (typeof value === 'string') found.push({ holder: object, key: Array.isArray(object) ? Number(key) : key, path: at, value });
    else if (value && typeof value === 'object') stringsOf(value, at, found);
  }
  return found;
}
