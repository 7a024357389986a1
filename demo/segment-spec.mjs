/**
 * What the reference collector accepts: every batch homing sends (`homing/schema`), and every
 * batch a Segment library sends, which the Segment spec allows to be wider than homing's own:
 * an event needs a `userId` or an `anonymousId` (not always both), and `screen`, `group` and
 * `alias` calls exist too. So a site can point its existing Segment clients at the collector.
 * https://segment.com/docs/connections/spec/common/
 */
import { z } from 'zod';
import {
  contextSchema,
  identifyEventSchema,
  jsonObjectSchema,
  pageEventSchema,
  trackEventSchema,
} from '../dist/schema.mjs';

/** Segment's spec: "every call must have a userId or an anonymousId". */
const identity = {
  anonymousId: z.string().min(1).optional(),
  userId: z.string().min(1).optional(),
};

const common = {
  messageId: z.string().min(1).max(100),
  timestamp: z.iso.datetime({ offset: true }),
  context: contextSchema,
  ...identity,
};

const segmentEventSchema = z
  .discriminatedUnion('type', [
    trackEventSchema.extend(identity),
    pageEventSchema.extend(identity),
    identifyEventSchema.extend(identity),
    z.looseObject({ type: z.literal('screen'), name: z.string().optional(), properties: jsonObjectSchema, ...common }),
    z.looseObject({ type: z.literal('group'), groupId: z.string().min(1), traits: jsonObjectSchema.optional(), ...common }),
    z.looseObject({ type: z.literal('alias'), previousId: z.string().min(1), ...common }),
  ])
  .refine((event) => event.userId !== undefined || event.anonymousId !== undefined, {
    message: 'an event needs a userId or an anonymousId',
    path: ['anonymousId'],
  });

export const collectorBatchSchema = z.object({
  batch: z.array(segmentEventSchema).min(1),
  sentAt: z.iso.datetime({ offset: true }),
  writeKey: z.string().optional(),
});
