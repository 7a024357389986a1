/** The public shape of a tracker, apart from how it is built. */
import type { TrackerEvents, TrackerStats } from './reporter';

/** Event names mapped to their properties' types, for `createTracker<Events>()`. */
export type EventMap = Record<string, Record<string, unknown>>;

/** The properties argument: optional where every property is. */
type PropertiesArgument<Properties> = {} extends Properties ? [properties?: Properties] : [properties: Properties];

export interface Tracker<Events extends { [Name in keyof Events]: object } = EventMap> {
  track<Name extends keyof Events & string>(event: Name, ...properties: PropertiesArgument<Events[Name]>): void;
  page(name?: string, properties?: Record<string, unknown>): void;
  identify(userId: string, traits?: Record<string, unknown>): void;
  /** Logout: forgets the user id, starts a new anonymous id and session. */
  reset(): void;
  /** Stops tracking for this user, remembered across page loads: nothing is stored or sent, and what was queued is deleted. */
  optOut(): void;
  /** Tracks (and stores, and sends) after optOut(), despite Global Privacy Control, or once consent was pending. */
  optIn(): void;
  /** Sends what is queued now; resolves when the queue is empty or sending must wait (offline, backoff). */
  flush(): Promise<TrackerStats>;
  /** Stops timers and listeners after a last flush and once everything queued is persisted. */
  shutdown(): Promise<void>;
  stats(): TrackerStats;
  on<Name extends keyof TrackerEvents & string>(name: Name, listener: (payload: TrackerEvents[Name]) => void): () => void;
}
