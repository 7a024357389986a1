import { classify, parseRetryAfter } from '../retry';
import type { KeepaliveBudget } from './keepalive-budget';
import type { SendResult, Transport } from './transport';

export interface FetchTransportOptions {
  endpoint: string;
  fetch: typeof fetch;
  budget: KeepaliveBudget;
  /** A request without an answer by then is aborted and retried. */
  timeoutMs: number;
  now: () => number;
  /** Gzip bodies that need not outlive the page. */
  compress?: boolean;
}

/** POSTs JSON with fetch; with `keepalive` when the page is hiding, within the shared budget. */
export function createFetchTransport({ endpoint, fetch, budget, timeoutMs, now, compress }: FetchTransportOptions): Transport {
  const gzip = compress && typeof CompressionStream === 'function';
  return {
    name: 'fetch',
    async send({ body, bytes, keepalive }): Promise<SendResult> {
      if (keepalive && !budget.reserve(bytes)) return { kind: 'unsent', cause: 'keepalive budget exhausted' };
      const controller = typeof AbortController === 'function' ? new AbortController() : undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Raced, not only aborted: a fetch that ignores its signal (a polyfill, a stuck runtime) must not hold the queue forever.
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          controller?.abort();
          reject(controller?.signal.reason ?? new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      // Handled here too: it may time out before the race below is set up (a slow gzip).
      timedOut.catch(() => {});
      try {
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        // A keepalive request starts at once: the page may be gone after this task.
        const payload = gzip && !keepalive ? await gzipped(body) : body;
        if (payload !== body) headers['Content-Encoding'] = 'gzip';
        const response = await Promise.race([
          fetch(endpoint, {
            method: 'POST',
            body: payload,
            headers,
            keepalive,
            credentials: 'omit',
            signal: controller?.signal,
          }),
          timedOut,
        ]);
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

function gzipped(body: string): Promise<ArrayBuffer> {
  return new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
}
