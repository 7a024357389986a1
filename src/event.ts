/**
 * Building one event as it goes on the wire (Segment spec): ids, timestamp, context, and
 * JSON-safe properties. The types mirror `schema.ts` without importing zod.
 */
import { uuidV4, type RandomBytes } from './id';
import { sanitizeProperties, show, type JsonObject } from './sanitize';
import { VERSION } from './version';

export type EventType = 'track' | 'page' | 'identify';

export interface PageContext {
  url: string;
  path: string;
  referrer: string;
  title: string;
}

export interface EventContext {
  library: { name: string; version: string };
  page?: PageContext;
  userAgent?: string;
  locale?: string;
  timezone?: string;
  sessionId?: string;
  /** The page URL's utm_ parameters, when the utm plugin is on. */
  campaign?: Record<string, string>;
}

export interface HomingEvent {
  type: EventType;
  event?: string;
  name?: string;
  properties?: JsonObject;
  traits?: JsonObject;
  messageId: string;
  anonymousId: string;
  userId?: string;
  timestamp: string;
  context: EventContext;
}

export interface Identity {
  anonymousId: string;
  userId?: string;
  sessionId: string;
}

/** What the caller asked for, before enrichment. */
export interface EventInput {
  type: EventType;
  event?: unknown;
  name?: unknown;
  properties?: unknown;
  traits?: unknown;
}

export type BuiltEvent = { ok: true; event: HomingEvent; repairs: string[] } | { ok: false; reason: string };

/** Segment documents 32 KB per event; larger ones are dropped with a reason. */
export const MAX_EVENT_BYTES = 32 * 1024;

/** Event names longer than this are almost always a value passed by mistake. */
export const MAX_NAME_LENGTH = 200;

export interface EventBuilder {
  build(input: EventInput, identity: Identity): BuiltEvent;
}

export function createEventBuilder(now: () => number, random: RandomBytes): EventBuilder {
  let environment: Omit<EventContext, 'page' | 'sessionId'> | undefined;
  // A burst of track() calls in one task shares one reading of the page (while its URL stays
  // the same: an SPA may pushState mid-task) and of the clock's ISO string: reading location
  // and document costs more than the rest of an event.
  let pageThisTask: PageContext | undefined;
  let isoMs = NaN;
  let iso = '';
  const pageNow = () => {
    if (!globalThis.document) return undefined;
    if (pageThisTask?.url !== globalThis.location?.href) {
      if (!pageThisTask) queueMicrotask(() => (pageThisTask = undefined));
      pageThisTask = readPage();
    }
    return pageThisTask && { ...pageThisTask };
  };
  const timestamp = (ms: number) => (ms === isoMs ? iso : (iso = new Date((isoMs = ms)).toISOString()));
  return {
    build(input, identity) {
      const nameError =
        input.type === 'track'
          ? checkName(input.event, 'event name', true)
          : input.type === 'page'
            ? checkName(input.name, 'page name', false)
            : undefined;
      if (nameError) return { ok: false, reason: nameError };

      const bag = input.type === 'identify' ? 'traits' : 'properties';
      const { value, repairs } = sanitizeProperties(input[bag], bag);
      environment ||= readEnvironment();
      const page = pageNow();
      const event: HomingEvent = {
        type: input.type,
        messageId: uuidV4(random),
        anonymousId: identity.anonymousId,
        timestamp: timestamp(now()),
        context: { ...environment, sessionId: identity.sessionId },
      };
      if (page) event.context.page = page;
      if (input.type === 'track') event.event = input.event as string;
      if (input.type === 'page') {
        if (input.name != null) event.name = input.name as string;
        event[bag] = page ? { path: page.path, url: page.url, referrer: page.referrer, title: page.title, ...value } : value;
      } else {
        event[bag] = value;
      }
      if (identity.userId) event.userId = identity.userId;
      return { ok: true, event, repairs };
    },
  };
}

function checkName(name: unknown, what: string, required: boolean): string | undefined {
  if (name == null && !required) return undefined;
  if (typeof name !== 'string' || !name.trim()) return `${what} must be a non-empty string, got ${show(name)}`;
  if (name.length > MAX_NAME_LENGTH) return `${what} is longer than ${MAX_NAME_LENGTH} characters`;
  return undefined;
}

/** Read once per tracker: `Intl.DateTimeFormat()` alone costs more than a whole track() call. */
function readEnvironment(): Omit<EventContext, 'page' | 'sessionId'> {
  const context: Omit<EventContext, 'page' | 'sessionId'> = { library: { name: 'homing', version: VERSION } };
  const nav = globalThis.navigator;
  try {
    if (nav?.userAgent) context.userAgent = nav.userAgent;
    if (nav?.language) context.locale = nav.language;
    context.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    // Older or locked-down runtimes: the context is best effort.
  }
  return context;
}

/** Read for every event: an SPA changes its URL and title without reloading. */
function readPage(): PageContext | undefined {
  const location = globalThis.location;
  const document = globalThis.document;
  if (!location || !document) return undefined;
  return { url: location.href, path: location.pathname, referrer: document.referrer, title: document.title };
}
