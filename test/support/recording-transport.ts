import type { HomingEvent } from '../../src/capture/event';
import type { SendRequest, SendResult, Transport } from '../../src/transport/transport';

/** One request as the collector would have received it. */
export interface RecordedRequest extends SendRequest {
  payload: { batch: HomingEvent[]; sentAt: string; writeKey?: string };
  /** The events' names (`event` for track, `name` for page, `type` otherwise), in body order. */
  names: string[];
}

export type Answer = (request: RecordedRequest, index: number) => SendResult | Promise<SendResult>;

export const DELIVERED: SendResult = { kind: 'delivered', status: 200 };

/** Answers every request with a 200. */
export const alwaysDelivered: Answer = () => DELIVERED;

/** Answers the first requests with `results`, in order, and every later one with a 200. */
export const answersInTurn =
  (...results: SendResult[]): Answer =>
  (_request, index) =>
    results[index] ?? DELIVERED;

/** Never answers: the request stays in flight forever. */
export const neverAnswers: Answer = () => new Promise<SendResult>(() => {});

export function nameOf(event: HomingEvent): string {
  return event.event ?? event.name ?? event.type;
}

/** A transport that records every request body and answers as told. */
export function createRecordingTransport(answer: Answer = alwaysDelivered) {
  const requests: RecordedRequest[] = [];
  const transport: Transport = {
    name: 'recording',
    async send(request) {
      const payload = JSON.parse(request.body) as RecordedRequest['payload'];
      const recorded: RecordedRequest = { ...request, payload, names: payload.batch.map(nameOf) };
      requests.push(recorded);
      return answer(recorded, requests.length - 1);
    },
  };
  return {
    transport,
    requests,
    /** The names carried by each request, one array per request. */
    batches: () => requests.map((request) => request.names),
  };
}
