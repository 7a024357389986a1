/**
 * How a batch's body reaches the collector. A transport never throws: it answers with a value.
 */
export type SendResult =
  | { kind: 'delivered'; status: number }
  | { kind: 'rejected'; status: number }
  | { kind: 'too-large'; status: number }
  | { kind: 'retry'; status?: number; retryAfterMs?: number; cause?: unknown }
  /** The browser took the request and will send it; no answer will come (sendBeacon). */
  | { kind: 'handed-off' }
  /** Nothing left: this transport cannot take the request now. Not an attempt. */
  | { kind: 'unsent'; cause?: unknown };

export interface SendRequest {
  body: string;
  /** UTF-8 length of `body`. */
  bytes: number;
  /** The request must outlive the page: a keepalive fetch, within the shared budget. */
  keepalive: boolean;
  /** The page is going away: no answer will be awaited. */
  exit?: boolean;
}

export interface Transport {
  readonly name?: string;
  /** Starts the request synchronously, so it is under way even if the page dies right after. */
  send(request: SendRequest): Promise<SendResult>;
}
