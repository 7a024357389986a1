/**
 * The wire format as zod schemas: what a collector may expect in `POST <endpoint>`.
 * Exported as `homing/schema` for servers and tests; the client imports only `HomingEvent`'s
 * plain types from `event.ts`, so zod never enters a browser bundle.
 */
import { z } from 'zod';
export { MAX_EVENT_BYTES } from './capture/event';

/** Segment documents 500 KB per batch request. */
export const MAX_BATCH_REQUEST_BYTES = 500 * 1024;

const isoDate = z.iso.datetime({ offset: true });

export const jsonObjectSchema = z.record(z.string(), z.json());

export const contextSchema = z.looseObject({
  library: z.object({ name: z.string(), version: z.string() }),
  page: z
    .looseObject({
      url: z.string(),
      path: z.string(),
      referrer: z.string(),
      title: z.string(),
    })
    .optional(),
  userAgent: z.string().optional(),
  locale: z.string().optional(),
  timezone: z.string().optional(),
  sessionId: z.string().optional(),
});

const common = {
  messageId: z.string().min(1).max(100),
  anonymousId: z.string().min(1),
  userId: z.string().min(1).optional(),
  timestamp: isoDate,
  context: contextSchema,
};

export const trackEventSchema = z.looseObject({
  type: z.literal('track'),
  event: z.string().min(1),
  properties: jsonObjectSchema,
  ...common,
});

export const pageEventSchema = z.looseObject({
  type: z.literal('page'),
  name: z.string().optional(),
  properties: jsonObjectSchema,
  ...common,
});

export const identifyEventSchema = z.looseObject({
  type: z.literal('identify'),
  traits: jsonObjectSchema,
  ...common,
});

export const eventSchema = z.discriminatedUnion('type', [
  trackEventSchema,
  pageEventSchema,
  identifyEventSchema,
]);

export const batchSchema = z.object({
  batch: z.array(eventSchema).min(1),
  sentAt: isoDate,
  writeKey: z.string().optional(),
});

export type WireEvent = z.infer<typeof eventSchema>;
export type WireBatch = z.infer<typeof batchSchema>;
