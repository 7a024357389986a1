/**
 * `homing/compress`: gzips request bodies with the native CompressionStream, with
 * `Content-Encoding: gzip` (the collector must accept it). Never as the page goes away, where
 * there is no time to: those requests go uncompressed, by sendBeacon.
 * `createTracker({ endpoint, transport: compressedTransport({ endpoint }) })`.
 */
import { startedIsHandedOff } from '../delivery/hand-off';
import { createBeacon } from '../transport/beacon';
import { createFetchTransport } from '../transport/fetch';
import { createKeepaliveBudget } from '../transport/keepalive-budget';
import type { Transport } from '../transport/transport';

export interface CompressOptions {
  endpoint: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds before a request without an answer is aborted. Default 10,000. */
  timeout?: number;
}

export function compressedTransport({ endpoint, fetch = (...args) => globalThis.fetch(...args), timeout = 10_000 }: CompressOptions): Transport {
  const budget = createKeepaliveBudget();
  const plain = createFetchTransport({ url: endpoint, fetch, headers: {}, budget, timeoutMs: timeout, now: Date.now });
  const beacon = createBeacon(endpoint, budget) ?? startedIsHandedOff(plain, budget);
  const exit: Transport = { send: async (request) => (beacon(request) ? { kind: 'handed-off' } : { kind: 'unsent' }) };
  const gzip = typeof CompressionStream === 'function';
  const gzipped = createFetchTransport({
    url: endpoint,
    fetch: async (url, init) => fetch(url, { ...init, body: await compress(init!.body as string), headers: { ...(init!.headers as Record<string, string>), 'Content-Encoding': 'gzip' } }),
    headers: {},
    budget,
    timeoutMs: timeout,
    now: Date.now,
  });
  return { send: (request) => (request.exit ? exit.send(request) : (gzip ? gzipped : plain).send(request)) };
}

function compress(body: string): Promise<ArrayBuffer> {
  return new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
}
