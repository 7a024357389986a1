/**
 * A request body: the batch's serialized events joined into the Segment envelope, never
 * serialized again. Its size is the events' sizes plus the envelope's.
 */
import { utf8Length } from '../bytes';
import type { StoredEvent } from '../store/event-store';

export interface Body {
  body: string;
  bytes: number;
}

/** `{"batch":[],"sentAt":"2030-01-01T00:00:00.000Z"}`: 47 bytes, and a little room. */
const ENVELOPE_BYTES = 64;

export function createEnvelope(writeKey: string | undefined) {
  const key = writeKey ? `,"writeKey":${JSON.stringify(writeKey)}` : '';
  const keyBytes = utf8Length(key);
  return {
    /** Bytes a batch of `count` events may hold within a body of `limit` bytes. */
    room: (limit: number, count: number) => limit - ENVELOPE_BYTES - keyBytes - count,
    wrap(batch: StoredEvent[], sentAt: number): Body {
      const prefix = '{"batch":[';
      const suffix = `],"sentAt":"${new Date(sentAt).toISOString()}"${key}}`;
      const body = prefix + batch.map((event) => event.json).join(',') + suffix;
      const bytes = batch.reduce((sum, event) => sum + event.bytes, prefix.length + suffix.length - 1 + keyBytes - key.length + batch.length);
      return { body, bytes };
    },
  };
}

export type Envelope = ReturnType<typeof createEnvelope>;
