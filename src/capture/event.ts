/**
 * One event as it goes on the wire (Segment spec). The types mirror `schema.ts` without
 * importing zod, which never enters a browser bundle.
 */
import type { JsonObject } from './snapshot';

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
  /** The page URL's utm_ parameters, with the `homing/utm` plugin. */
  campaign?: Record<string, string>;
  [key: string]: unknown;
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

/** Segment documents 32 KB per event; larger ones are cut down or dropped. */
export const MAX_EVENT_BYTES = 32 * 1024;

/** Event names longer than this are almost always a value passed by mistake. */
export const MAX_NAME_LENGTH = 200;
