import type { HomingEvent } from '../../src/capture/event';
import { nameOf } from './recording-transport';

/** One request as the collector saw it, and what it answered. */
export interface CollectedRequest {
  events: HomingEvent[];
  /** The events' names, in body order. */
  names: string[];
  keepalive: boolean;
  signal?: AbortSignal;
  /** The HTTP status answered, 'network error' when the fetch rejected, undefined while unanswered. */
  answer?: number | 'network error';
}

/** How the collector answers one request: a Response (or anything fetch may resolve to), or a throw/rejection. */
export type FetchAnswer = (request: CollectedRequest, index: number) => unknown;

/**
 * A collector behind an injected `fetch`, as the reference collector behaves: it records every
 * request and accepts the events of those it answers 2xx, deduping on messageId. Wire duplicates
 * of accepted events are counted, not accepted twice.
 */
export function createFakeCollector(answer: FetchAnswer = () => new Response(null, { status: 200 })) {
  const requests: CollectedRequest[] = [];
  const acceptedIds = new Set<string>();
  /** Accepted events, once each, in the order they arrived. */
  const accepted: HomingEvent[] = [];
  let duplicates = 0;

  const accept = (events: HomingEvent[]) => {
    for (const event of events) {
      if (acceptedIds.has(event.messageId)) duplicates++;
      else {
        acceptedIds.add(event.messageId);
        accepted.push(event);
      }
    }
  };

  const fetch = async (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const { batch } = JSON.parse(String(init?.body)) as { batch: HomingEvent[] };
    const request: CollectedRequest = { events: batch, names: batch.map(nameOf), keepalive: !!init?.keepalive, signal: init?.signal ?? undefined };
    requests.push(request);
    try {
      const response = (await answer(request, requests.length - 1)) as Response;
      request.answer = response?.status;
      if (response?.status >= 200 && response.status < 300) accept(batch);
      return response;
    } catch (error) {
      request.answer = 'network error';
      throw error;
    }
  };

  return {
    fetch: fetch as typeof globalThis.fetch,
    requests,
    accepted,
    /** Names of the accepted events, once each, in arrival order. */
    acceptedNames: () => accepted.map(nameOf),
    /** Accepted events that arrived again after they were accepted. */
    duplicates: () => duplicates,
    batches: () => requests.map((request) => request.names),
  };
}

/** An HTTP answer. */
export const status = (code: number, headers: Record<string, string> = {}) => new Response(null, { status: code, headers });

/**
 * A response `new Response()` cannot make (status 0 of an opaque redirect, a 1xx): a plain
 * object with what the fetch transport reads.
 */
export function unusualResponse(code: number, type: ResponseType = 'basic'): Response {
  return { status: code, ok: false, type, redirected: false, headers: new Headers(), body: null } as unknown as Response;
}

/** A fetch answer that never comes, until the request is aborted. */
export const hangUntilAborted = (request: CollectedRequest) =>
  new Promise<never>((_resolve, reject) => {
    request.signal?.addEventListener('abort', () => reject(request.signal!.reason));
  });

/** A fetch answer that never comes, abort or not (a broken polyfill, a stuck runtime). */
export const hangForever = () => new Promise<never>(() => {});
