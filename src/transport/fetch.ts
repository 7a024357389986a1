import { classify, parseRetryAfter } from '../delivery/answer';
import type { KeepaliveBudget } from './keepalive-budget';
import type { SendResult, Transport } from './transport';

export interface FetchTransportOptions {
  url: string;
  fetch: typeof fetch;
  /** Sent with every request besides Content-Type (an engine's authorization). */
  headers: Record<string, string>;
  budget: KeepaliveBudget;
  /** A request without an answer by then is aborted and retried. */
  timeoutMs: number;
  now: () => number;
}

/** POSTs JSON with fetch; with `keepalive` when the page is hiding, within the shared budget. */
export function createFetchTransport({ url, fetch, headers, budget, timeoutMs, now }: FetchTransportOptions): Transport {
  return {
    async send({ body, bytes, keepalive }): Promise<SendResult> {
      if (keepalive && !budget.reserve(bytes)) return { kind: 'unsent', cause: 'keepalive budget' };
      const controller = typeof AbortController === 'function' ? new AbortController() : undefined;
      const timer = setTimeout(() => controller?.abort(), timeoutMs);
      try {
        const response = await fetch(url, {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'application/json', ...headers },
          keepalive,
          credentials: 'omit',
          signal: controller?.signal,
        });
        // The body is not needed; cancelling it frees the connection.
        response.body?.cancel().catch(() => {});
        const verdict = classify(response.status);
        return verdict === 'retry'
          ? { kind: 'retry', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('Retry-After'), now()) }
          : { kind: verdict, status: response.status };
      } catch (cause) {
        return { kind: 'retry', cause };
      } finally {
        clearTimeout(timer);
        if (keepalive) budget.release(bytes);
      }
    },
  };
}
