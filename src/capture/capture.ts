/**
 * The hot path: what track(), page() and identify() record when the host page calls them. Only
 * what must be read now is read (the time, the page, a copy of the properties); everything else
 * waits for the burst to be enriched, in a task of its own. Who the user is waits too: it changes
 * only through identify() and reset(), which run the burst first, and with the time captured here.
 */
import { show } from '../errors';
import type { EventType, PageContext } from './event';
import { MAX_NAME_LENGTH } from './event';
import { snapshot, type JsonObject, type OnRepair, type Repair } from './snapshot';

export interface Captured {
  type: EventType;
  /** The track event's name, or the page's (as given, when `invalid`). */
  name?: unknown;
  /** The properties, or the traits of identify(). */
  bag: JsonObject;
  /** When the host page called. */
  at: number;
  page?: PageContext;
  repairs?: Array<[path: string, reason: Repair, detail?: string]>;
  /** Why the event cannot be sent (a missing or bad name), in words in the debug build. */
  invalid?: string | true;
}

/** The repairs of the capture under way; most captures have none, and then no list is made. */
let repairs: Captured['repairs'];
const collectRepair: OnRepair = (...repair) => (repairs ??= []).push(repair);

export function capture(type: EventType, name: unknown, bag: unknown, at: number, page: PageContext | undefined): Captured {
  // Saved and restored: a toJSON in the properties may itself call track().
  const outer = repairs;
  repairs = undefined;
  const captured: Captured = { type, bag: snapshot(bag, type === 'identify' ? 'traits' : 'properties', collectRepair), at, page };
  if (repairs) captured.repairs = repairs;
  repairs = outer;
  if (type === 'identify') return captured;
  const invalid = checkName(name, type === 'track' ? 'event name' : 'page name', type === 'track');
  if (invalid) captured.invalid = invalid;
  if (name != null) captured.name = name;
  return captured;
}

function checkName(name: unknown, what: string, required: boolean): string | true | undefined {
  if (name == null && !required) return undefined;
  if (typeof name !== 'string' || !name.trim()) return (__DEBUG__ && `${what} must be a non-empty string, got ${show(name)}`) || true;
  if (name.length > MAX_NAME_LENGTH) return (__DEBUG__ && `${what} is longer than ${MAX_NAME_LENGTH} characters`) || true;
  return undefined;
}
